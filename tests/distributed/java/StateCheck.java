import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import mylib.spark.ExactSumState;

/**
 * The Java side of the differential tests of {@link ExactSumState} against mylib
 * (tests/distributed/test_spark_jvm.py). Reads commands on stdin, answers on stdout; integers and
 * doubles little-endian.
 *
 * <pre>
 * 'S' k (int32), then k parts, each n (int64) and n doubles:
 *     each part's state (288 bytes each); then the merge of all parts twice, 288 bytes each: folded
 *     left to right into a fresh state, and merged pairwise as a balanced tree. On the way every
 *     even part goes through toBytes/fromBytes and every odd one through Java serialisation (the
 *     way Spark moves an aggregation buffer).
 * 'B' n (int32), n bytes: 0 and the state's bytes again if fromBytes accepts them; 1 if it
 *     refuses them as malformed; 2 as another format version.
 * 'Q': the end.
 * </pre>
 */
public final class StateCheck {
    private StateCheck() {}

    public static void main(String[] args) throws Exception {
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
        while (true) {
            int command = in.read();
            if (command == 'Q' || command < 0) {
                break;
            } else if (command == 'S') {
                sums(in, out);
            } else if (command == 'B') {
                bytes(in, out);
            } else {
                throw new IllegalStateException("unknown command " + command);
            }
        }
        out.flush();
    }

    private static void sums(DataInputStream in, OutputStream out) throws IOException, ClassNotFoundException {
        int k = Integer.reverseBytes(in.readInt());
        List<ExactSumState> parts = new ArrayList<>();
        for (int p = 0; p < k; p++) {
            long n = Long.reverseBytes(in.readLong());
            ExactSumState s = new ExactSumState();
            for (long i = 0; i < n; i++) {
                s.add(Double.longBitsToDouble(Long.reverseBytes(in.readLong())));
            }
            ExactSumState moved = p % 2 == 0 ? ExactSumState.fromBytes(s.toBytes()) : serialised(s);
            out.write(s.toBytes());
            parts.add(moved);
        }
        ExactSumState folded = new ExactSumState();
        for (ExactSumState s : parts) {
            folded.merge(ExactSumState.fromBytes(s.toBytes()));
        }
        out.write(folded.toBytes());
        out.write(tree(parts, 0, parts.size()).toBytes());
    }

    private static ExactSumState tree(List<ExactSumState> parts, int from, int to) {
        if (to - from == 0) {
            return new ExactSumState();
        }
        if (to - from == 1) {
            return ExactSumState.fromBytes(parts.get(from).toBytes());
        }
        int mid = (from + to) >>> 1;
        ExactSumState left = tree(parts, from, mid);
        left.merge(tree(parts, mid, to));
        return left;
    }

    private static ExactSumState serialised(ExactSumState s) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(buffer)) {
            o.writeObject(s);
        }
        try (ObjectInputStream i = new ObjectInputStream(new ByteArrayInputStream(buffer.toByteArray()))) {
            return (ExactSumState) i.readObject();
        }
    }

    private static void bytes(DataInputStream in, OutputStream out) throws IOException {
        byte[] b = new byte[Integer.reverseBytes(in.readInt())];
        in.readFully(b);
        try {
            byte[] again = ExactSumState.fromBytes(b).toBytes();
            out.write(0);
            out.write(again);
        } catch (ExactSumState.UnsupportedVersionException e) {
            out.write(2);
        } catch (IllegalArgumentException e) {
            out.write(1);
        }
    }
}
