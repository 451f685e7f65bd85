package mylib.spark;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * The exact sum of any number of doubles, as mylib's {@code ExactSum} keeps it, in pure Java (no Spark): a
 * state that can be added to, merged and serialised in mylib's own format, byte for byte.
 *
 * <p>Every finite double is an integer multiple of 2^-1074, so the exact sum of finite doubles is
 * N·2^-1074 for an integer N, with |N| ≤ count·2^2098 (a double is below 2^1024). The serialised
 * state (288 bytes, format version 1; {@code include/mylib.h} at {@code mylib_exact_sum} and
 * {@code src/kernels/format.rs} define it) is:
 *
 * <pre>
 * offset size field
 *      0    4 magic "MYXS"
 *      4    1 format version, 1
 *      5    1 flags: bit 0 NaN seen, bit 1 +inf seen, bit 2 -inf seen; the other bits 0
 *      6    2 reserved, 0
 *      8    8 count: the number of values added (unsigned, little-endian)
 *     16  272 N: 34 words of 64 bits, least significant first, little-endian, two's complement
 * </pre>
 *
 * <p>The bytes are canonical (equal states give equal bytes), so the bytes this class writes for some
 * values are the bytes {@code mylib.ExactSum(values).to_bytes()} writes, and the value is rounded by
 * mylib itself ({@code mylib.ExactSum.from_bytes(b).value()}): one rounding, mylib's.
 *
 * <p><b>How values are added</b> (mylib's exponent bins, {@code src/kernels/bins.rs}): doubles with the
 * same sign and biased exponent are multiples of the same power of two, so their significands add as
 * unsigned 64-bit integers in a bin indexed by sign and exponent (the 12 high bits of the double).
 * A bin that carries out of 64 bits is spilled at once into N (its exact value, 2^64 plus what is
 * left) and restarts at 0; {@link #toBytes} and {@link #merge} spill every bin. NaN and infinities
 * are only recorded (flags), as mylib records them; nothing is rounded, so the state does not
 * depend on the order of the values.
 *
 * <p>N is kept as mylib keeps it ({@code src/kernels/exact.rs}): 68 signed 64-bit chunks, chunk k
 * weighing 2^(32k), each a 32-bit digit plus room for carries not yet propagated; a spill touches at
 * most four chunks; the carries are propagated ({@link #normalize}) after 2^30 spills or merges, so
 * no chunk outgrows 2^62.
 *
 * <p>Not thread-safe: one state per task (Spark gives each aggregation buffer to one thread).
 */
public final class ExactSumState implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The size of a serialised state (format version 1). */
    public static final int BYTES = 288;
    /** The format version written and read. */
    public static final int VERSION = 1;

    static final int SEEN_NAN = 1;
    static final int SEEN_POS_INF = 2;
    static final int SEEN_NEG_INF = 4;

    /** Chunks of 32 bits of N (2176 bits). */
    private static final int CHUNKS = 68;
    /** Words of 64 bits of N in the serialised form. */
    private static final int WORDS = CHUNKS / 2;
    /** Propagate the carries after this many additions to the chunks. */
    private static final int LOAD_LIMIT = 1 << 30;
    private static final long FRAC = (1L << 52) - 1;
    private static final long IMPLICIT = 1L << 52;
    private static final long LOW32 = 0xffff_ffffL;
    /** Bins: sign and biased exponent. */
    private static final int BINS = 4096;
    private static final byte[] MAGIC = {'M', 'Y', 'X', 'S'};

    /** N = Σ chunks[k]·2^(32k); transient: the state travels as its 288 bytes (writeObject). */
    private transient long[] chunks = new long[CHUNKS];
    /** Additions to the chunks since the carries were last propagated. */
    private transient int load;
    /** The unsigned sums of the significands, per sign and exponent; null while empty. */
    private transient long[] bins;
    /** SEEN_* bits. */
    private transient int seen;
    /** Values added, NaN and infinities included (unsigned). */
    private transient long count;

    /** The empty sum (its value is +0.0). */
    public ExactSumState() {}

    /** The number of values added, NaN and infinities included (unsigned: read it with Long.toUnsignedString). */
    public long count() {
        return count;
    }

    /**
     * Adds one value.
     *
     * @throws ArithmeticException (the state unchanged) when the state already counts 2^64 − 1 values
     */
    public void add(double x) {
        if (count == -1L) {
            throw new ArithmeticException("an ExactSumState counts at most 2^64 - 1 values");
        }
        count++;
        long bits = Double.doubleToRawLongBits(x);
        int idx = (int) (bits >>> 52); // sign and biased exponent
        int e = idx & 0x7ff;
        if (e == 0x7ff) {
            seen |= special(bits);
            return;
        }
        // Zeros and subnormals (e == 0) have no implicit bit; their weight is that of e == 1.
        long m = (bits & FRAC) | (e == 0 ? 0 : IMPLICIT);
        long[] b = bins;
        if (b == null) {
            b = bins = new long[BINS];
        }
        long sum = b[idx] + m;
        if (Long.compareUnsigned(sum, m) < 0) {
            // The bin carried: its exact value is 2^64 + sum.
            spill(idx, sum, 1);
            sum = 0;
        }
        b[idx] = sum;
    }

    /**
     * Adds {@code other}'s sum to this one ({@code other} keeps its value).
     *
     * @throws ArithmeticException (this state unchanged) when the merged state would count more than
     *     2^64 − 1 values (the count bounds N, as in mylib)
     */
    public void merge(ExactSumState other) {
        long merged = count + other.count;
        if (Long.compareUnsigned(merged, count) < 0) {
            throw new ArithmeticException("a merged ExactSumState would count more than 2^64 - 1 values");
        }
        other.flush();
        if (load + other.load >= LOAD_LIMIT) {
            normalize();
        }
        if (load + other.load >= LOAD_LIMIT) {
            // Only with an `other` itself near the limit: normalising it keeps its value.
            other.normalize();
        }
        for (int k = 0; k < CHUNKS; k++) {
            chunks[k] += other.chunks[k];
        }
        load += other.load;
        seen |= other.seen;
        count = merged;
    }

    /** The serialised state: mylib's format, version 1 (see the class docs). */
    public byte[] toBytes() {
        flush();
        normalize();
        byte[] out = new byte[BYTES];
        System.arraycopy(MAGIC, 0, out, 0, 4);
        out[4] = (byte) VERSION;
        out[5] = (byte) seen;
        putLong(out, 8, count);
        for (int j = 0; j < WORDS; j++) {
            long word = (chunks[2 * j] & LOW32) | (chunks[2 * j + 1] << 32);
            putLong(out, 16 + 8 * j, word);
        }
        return out;
    }

    /**
     * The state serialised in {@code bytes}, every field checked as mylib checks it: a wrong length,
     * magic, version, flag or reserved bit, a count smaller than the number of flags set, or an N
     * larger in magnitude than count·2^2098 is refused.
     *
     * @throws UnsupportedVersionException for a state of another format version
     * @throws IllegalArgumentException for bytes that are not a state (the reason)
     */
    public static ExactSumState fromBytes(byte[] bytes) {
        if (bytes.length < 5 || bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1] || bytes[2] != MAGIC[2]
                || bytes[3] != MAGIC[3]) {
            throw new IllegalArgumentException("not an exact-sum state: it does not start with the magic \"MYXS\"");
        }
        if (bytes[4] != VERSION) {
            throw new UnsupportedVersionException(bytes[4] & 0xff);
        }
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("not an exact-sum state: wrong length (a version 1 state has 288 bytes)");
        }
        int seen = bytes[5] & 0xff;
        if ((seen & ~7) != 0) {
            throw new IllegalArgumentException("not an exact-sum state: unknown flag bits set");
        }
        if (bytes[6] != 0 || bytes[7] != 0) {
            throw new IllegalArgumentException("not an exact-sum state: reserved bytes are not zero");
        }
        long count = getLong(bytes, 8);
        if (Long.compareUnsigned(Integer.bitCount(seen), count) > 0) {
            throw new IllegalArgumentException("not an exact-sum state: flags set for more values than the count");
        }
        long[] words = new long[WORDS];
        for (int j = 0; j < WORDS; j++) {
            words[j] = getLong(bytes, 16 + 8 * j);
        }
        if (!withinBound(words, count)) {
            throw new IllegalArgumentException(
                    "not an exact-sum state: the sum is larger than its count of doubles can reach");
        }
        ExactSumState s = new ExactSumState();
        for (int j = 0; j < WORDS; j++) {
            s.chunks[2 * j] = words[j] & LOW32;
            // The top chunk is signed (two's complement); the others are digits.
            s.chunks[2 * j + 1] = j == WORDS - 1 ? words[j] >> 32 : words[j] >>> 32;
        }
        s.load = 1;
        s.seen = seen;
        s.count = count;
        return s;
    }

    /** A serialised state of another format version than the one this class reads. */
    public static final class UnsupportedVersionException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UnsupportedVersionException(int version) {
            super("an exact-sum state of format version " + version + " (this reads version " + VERSION + ")");
        }
    }

    // ------------------------------------------------------------------ the integer N

    /**
     * Adds ±v·2^off to N, for v = hi·2^64 + lo below 2^65 (a bin's value: {@code hi} is 0 or 1,
     * {@code lo} unsigned) and off ≤ 2045: at most four chunks, no carry loop.
     */
    private void addBits(long lo, long hi, int off, boolean negative) {
        int k = off >>> 5;
        int sh = off & 31;
        // w = v << sh, below 2^97, as two 64-bit halves.
        long wlo = lo << sh;
        long whi = sh == 0 ? hi : (hi << sh) | (lo >>> (64 - sh));
        long p0 = wlo & LOW32;
        long p1 = wlo >>> 32;
        long p2 = whi & LOW32;
        long p3 = whi >>> 32;
        if (negative) {
            chunks[k] -= p0;
            chunks[k + 1] -= p1;
            chunks[k + 2] -= p2;
            chunks[k + 3] -= p3;
        } else {
            chunks[k] += p0;
            chunks[k + 1] += p1;
            chunks[k + 2] += p2;
            chunks[k + 3] += p3;
        }
        if (++load >= LOAD_LIMIT) {
            normalize();
        }
    }

    /** Adds bin {@code idx}'s value hi·2^64 + lo (significand units) to N. */
    private void spill(int idx, long lo, long hi) {
        int e = idx & 0x7ff;
        addBits(lo, hi, Math.max(e, 1) - 1, (idx & 0x800) != 0);
    }

    /** Spills every bin into N, leaving the bins empty (the value is unchanged). */
    private void flush() {
        long[] b = bins;
        if (b == null) {
            return;
        }
        for (int idx = 0; idx < BINS; idx++) {
            if (b[idx] != 0) {
                spill(idx, b[idx], 0);
                b[idx] = 0;
            }
        }
    }

    /** Propagates the carries: every chunk but the top one into [0, 2^32), the top one signed. */
    private void normalize() {
        long carry = 0;
        for (int k = 0; k < CHUNKS - 1; k++) {
            long v = chunks[k] + carry;
            chunks[k] = v & LOW32;
            carry = v >> 32;
        }
        chunks[CHUNKS - 1] += carry;
        load = 1;
    }

    /** Whether |N| ≤ count·2^2098 for N in two's-complement {@code words} (mylib's check). */
    private static boolean withinBound(long[] words, long count) {
        long[] mag = words.clone();
        if (words[WORDS - 1] < 0) {
            boolean carry = true;
            for (int j = 0; j < WORDS; j++) {
                long v = ~mag[j] + (carry ? 1 : 0);
                carry = carry && v == 0;
                mag[j] = v;
            }
            if (mag[WORDS - 1] < 0) {
                return false; // -2^2175 negates to itself: far beyond any bound
            }
        }
        // count·2^2098, 2098 = 32·64 + 50.
        long[] bound = new long[WORDS];
        bound[32] = count << 50;
        bound[33] = count >>> 14;
        for (int j = WORDS - 1; j >= 0; j--) {
            if (mag[j] != bound[j]) {
                return Long.compareUnsigned(mag[j], bound[j]) < 0;
            }
        }
        return true;
    }

    /** The SEEN_* bit of a NaN or infinity (its bits). */
    private static int special(long bits) {
        if ((bits & FRAC) != 0) {
            return SEEN_NAN;
        }
        return bits < 0 ? SEEN_NEG_INF : SEEN_POS_INF;
    }

    private static void putLong(byte[] out, int at, long v) {
        for (int i = 0; i < 8; i++) {
            out[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private static long getLong(byte[] in, int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (in[at + i] & 0xffL);
        }
        return v;
    }

    // ------------------------------------------------------------------ Java serialisation: the 288 bytes

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.write(toBytes());
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        byte[] b = new byte[BYTES];
        in.readFully(b);
        ExactSumState s;
        try {
            s = fromBytes(b);
        } catch (IllegalArgumentException e) {
            throw new java.io.InvalidObjectException(e.getMessage());
        }
        chunks = s.chunks;
        load = s.load;
        seen = s.seen;
        count = s.count;
    }
}
