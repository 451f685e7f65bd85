package mylib.spark;

import java.util.Collections;
import java.util.Iterator;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;

/**
 * The fast ways: the DataFrame's physical plan run as Spark's own actions run it, its values added
 * to one {@link ExactSumState} per partition in a tight loop, the partitions' states merged by
 * {@code treeAggregate}. These read Spark's physical plan ({@code QueryExecution}, {@code
 * SparkPlan}: Spark's developer API, which may change between versions), so {@link SparkExactSum}
 * falls back to the public {@link ExactSumAggregator} when they do not link.
 *
 * <ul>
 *   <li><b>batches</b>: when the plan ends in a columnar source (a Parquet or ORC scan: {@code
 *       ColumnarToRow} over a plan that supports columnar output, whose one output column is the
 *       double column), the source's {@code ColumnarBatch}es are read directly: about the work of
 *       Spark's own {@code sum}.
 *   <li><b>rows</b>: any other plan (a shuffle, a filter, an expression, an in-memory scan of a
 *       cached DataFrame), through its {@code InternalRow}s ({@code QueryExecution.toRdd}, what
 *       {@code Dataset.rdd} runs, without converting each row to a {@code Row}).
 * </ul>
 */
final class PlanSum {
    private PlanSum() {}

    /** The columnar plan whose batches are the one double column of {@code df}'s output, or null. */
    static SparkPlan columnarSource(QueryExecution qe) {
        SparkPlan plan = qe.executedPlan();
        if (plan instanceof WholeStageCodegenExec) {
            plan = ((WholeStageCodegenExec) plan).child();
        }
        if (!(plan instanceof ColumnarToRowExec)) {
            return null;
        }
        SparkPlan source = ((ColumnarToRowExec) plan).child();
        if (!source.supportsColumnar() || source.output().size() != 1) {
            return null;
        }
        Attribute column = source.output().head();
        return column.dataType().equals(DataTypes.DoubleType) ? source : null;
    }

    static QueryExecution queryExecution(Dataset<Row> df) {
        return ((org.apache.spark.sql.classic.Dataset<Row>) df).queryExecution();
    }

    /** "batches" or "rows": the way {@link #state} sums {@code df}. */
    static String strategy(Dataset<Row> df) {
        return columnarSource(queryExecution(df)) != null ? "batches" : "rows";
    }

    /**
     * The state of {@code df}'s one double column ({@code strategy}: "batches", "rows" or "auto",
     * the first that applies); {@code depth}: the height of the merge tree.
     */
    static byte[] state(Dataset<Row> df, String strategy, int depth) {
        QueryExecution qe = queryExecution(df);
        SparkPlan source = strategy.equals("rows") ? null : columnarSource(qe);
        byte[] zero = new ExactSumState().toBytes();
        if (source != null) {
            return source.executeColumnar().toJavaRDD().mapPartitions(new SumBatches())
                    .treeAggregate(zero, new Merge(), new Merge(), depth);
        }
        if (strategy.equals("batches")) {
            throw new IllegalArgumentException("the plan does not end in a columnar source of one double column");
        }
        return qe.toRdd().toJavaRDD().mapPartitions(new SumRows()).treeAggregate(zero, new Merge(), new Merge(), depth);
    }

    /** One partition's column batches to its state (nulls skipped). */
    static final class SumBatches implements FlatMapFunction<Iterator<ColumnarBatch>, byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<byte[]> call(Iterator<ColumnarBatch> batches) {
            ExactSumState state = new ExactSumState();
            while (batches.hasNext()) {
                ColumnarBatch batch = batches.next();
                ColumnVector v = batch.column(0);
                int n = batch.numRows();
                if (v.hasNull()) {
                    for (int i = 0; i < n; i++) {
                        if (!v.isNullAt(i)) {
                            state.add(v.getDouble(i));
                        }
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        state.add(v.getDouble(i));
                    }
                }
            }
            return Collections.singletonList(state.toBytes()).iterator();
        }
    }

    /** One partition's rows to its state (nulls skipped). */
    static final class SumRows implements FlatMapFunction<Iterator<InternalRow>, byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<byte[]> call(Iterator<InternalRow> rows) {
            ExactSumState state = new ExactSumState();
            while (rows.hasNext()) {
                InternalRow row = rows.next();
                if (!row.isNullAt(0)) {
                    state.add(row.getDouble(0));
                }
            }
            return Collections.singletonList(state.toBytes()).iterator();
        }
    }

    /** The merge of two serialised states (treeAggregate's seqOp and combOp). */
    static final class Merge implements Function2<byte[], byte[], byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] call(byte[] a, byte[] b) {
            ExactSumState s = ExactSumState.fromBytes(a);
            s.merge(ExactSumState.fromBytes(b));
            return s.toBytes();
        }
    }
}
