package mylib.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * What {@code mylib.spark} calls through Py4J: one instance per Spark driver, whose {@link #state}
 * gives the exact-sum state (mylib's 288 bytes) of a DataFrame's one double column, which the
 * Python side rounds with {@code mylib.ExactSum.from_bytes(b).value()}.
 *
 * <p>The ways ({@code strategy}):
 *
 * <ul>
 *   <li>"batches", "rows": {@link PlanSum} (the fast ways: Spark's physical plan, developer API);
 *   <li>"aggregate": {@link ExactSumAggregator} through {@code functions.udaf} (public API only;
 *       Spark plans and merges it, at about three times the cost of {@code F.sum});
 *   <li>"auto": "batches" when the plan ends in a columnar source, else "rows"; "aggregate" when
 *       this Spark's classes do not link with what the fast ways were compiled against.
 * </ul>
 */
public final class SparkExactSum {
    public SparkExactSum() {}

    /** The version of mylib's state format this jar writes (the Python side checks it). */
    public int formatVersion() {
        return ExactSumState.VERSION;
    }

    /** The way "auto" takes for {@code df}: "batches", "rows" or "aggregate". */
    public String strategy(Dataset<Row> df) {
        checkOneDoubleColumn(df);
        try {
            return PlanSum.strategy(df);
        } catch (LinkageError e) {
            return "aggregate";
        }
    }

    /**
     * The exact-sum state (mylib's 288 bytes) of the values of a DataFrame of one double column,
     * nulls skipped: one Spark job.
     *
     * @param strategy "auto", "batches", "rows" or "aggregate" (see the class docs)
     * @param depth the height of the merge tree of "batches" and "rows" (≥ 1; "aggregate" merges
     *     as Spark plans it)
     * @throws IllegalArgumentException when {@code df} has not exactly one column, of type double,
     *     or for "batches" when the plan does not end in a columnar source
     */
    public byte[] state(Dataset<Row> df, String strategy, int depth) {
        checkOneDoubleColumn(df);
        if (depth < 1) {
            throw new IllegalArgumentException("the depth of the merge tree must be >= 1, not " + depth);
        }
        switch (strategy) {
            case "aggregate":
                return aggregate(df);
            case "batches":
            case "rows":
                return PlanSum.state(df, strategy, depth);
            case "auto":
                try {
                    return PlanSum.state(df, strategy, depth);
                } catch (LinkageError e) {
                    return aggregate(df);
                }
            default:
                throw new IllegalArgumentException("unknown strategy " + strategy);
        }
    }

    private static byte[] aggregate(Dataset<Row> df) {
        Column sum = functions.udaf(new ExactSumAggregator(), Encoders.DOUBLE()).apply(functions.col("v"));
        Row row = df.toDF("v").agg(sum).head();
        return (byte[]) row.get(0);
    }

    private static void checkOneDoubleColumn(Dataset<Row> df) {
        StructField[] fields = df.schema().fields();
        if (fields.length != 1) {
            throw new IllegalArgumentException("a DataFrame of one column is needed, not " + fields.length);
        }
        DataType type = fields[0].dataType();
        if (!type.equals(DataTypes.DoubleType)) {
            throw new IllegalArgumentException(
                    "a double column is needed, not " + fields[0].name() + " of type " + type.simpleString());
        }
    }
}
