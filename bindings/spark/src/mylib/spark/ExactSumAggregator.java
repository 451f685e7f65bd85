package mylib.spark;

import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.expressions.Aggregator;

/**
 * The exact sum of a double column as a Spark SQL aggregate that runs inside the JVM: each task adds
 * its rows to an {@link ExactSumState} (nulls skipped), Spark merges the states in its own plan
 * (partial aggregation per partition, shuffle, final merge) and the result is the merged state's
 * 288 bytes in mylib's format, which {@code mylib.ExactSum.from_bytes(b).value()} rounds once.
 *
 * <p>Use it with {@code functions.udaf(new ExactSumAggregator(), Encoders.DOUBLE())}; the buffer
 * travels between tasks as Java serialisation of the state, i.e. as its 288 bytes.
 */
public final class ExactSumAggregator extends Aggregator<Double, ExactSumState, byte[]> {
    private static final long serialVersionUID = 1L;

    @Override
    public ExactSumState zero() {
        return new ExactSumState();
    }

    @Override
    public ExactSumState reduce(ExactSumState state, Double x) {
        if (x != null) { // a null is skipped, as F.sum skips it
            state.add(x);
        }
        return state;
    }

    @Override
    public ExactSumState merge(ExactSumState a, ExactSumState b) {
        a.merge(b);
        return a;
    }

    @Override
    public byte[] finish(ExactSumState state) {
        return state.toBytes();
    }

    @Override
    public Encoder<ExactSumState> bufferEncoder() {
        return Encoders.javaSerialization(ExactSumState.class);
    }

    @Override
    public Encoder<byte[]> outputEncoder() {
        return Encoders.BINARY();
    }
}
