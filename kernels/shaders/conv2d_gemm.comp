// conv2d as an implicit GEMM, for groups == 1 and any kernel size, stride, padding and dilation:
// out[k][npq] = sum over crs of wt[k][crs] * im2col(x)[crs][npq], where npq runs over every
// output pixel of every image and crs over C*R*S. Nothing is materialised: the im2col element is
// computed from the input on load.
//
// A work group of 16x16 invocations computes a BM (output channels) by BN (pixels) tile; each
// invocation keeps a (4 GEMM_HM) x (4 GEMM_HN) block of it in registers, as GEMM_HM x GEMM_HN
// 4x4 blocks half a tile apart, so its vec4 reads of shared memory stay contiguous across
// neighbours. 4x4 (HM = HN = 1): 16 FMAs per two vec4 reads; 4x8: 32 per three. The host
// compiles it twice: gemm (1, 1) and gemm_wide (1, 2); HM = 2 (128 channels a tile) was slower on
// the H100 for every shape measured. The reduction goes in chunks of BK: the
// group stages a chunk of weights and of im2col input in shared memory, and each invocation
// prefetches its share of the next chunk into registers while it computes on this one, so the
// global (on the zero-copy path: PCIe) latency overlaps the arithmetic.
//
// GEMM_BATCHED 1 (the Winograd kernel's middle step, see conv2d_winograd.comp): no im2col; the
// group multiplies plain row-major matrices, 16 of them, gl_WorkGroupID.z = xi selecting one:
// M[xi] (K x T, bound as y) = U[xi] (K x C, bound as wt) * V[xi] (C x T, bound as x), with
// T = N ceil(P/2) ceil(Q/2) the Winograd tiles. No bias (the output transform adds it).
// Batched, each invocation stages four neighbouring channels or tiles with one vec4 store: a
// store to a vec4's component picked at run time (`s[i][m % 4] = v`) compiles on NVIDIA to a
// four-way branch, divergent inside a warp: on the H100 the GEMM took 288 µs that way and 175 µs
// with vec4 stores (N32 C128 28x28 K128). The im2col mode keeps one pixel per invocation (four pixels would mean
// four index decodes and their registers); measuring that trade is still to do.
//
// Grid: x tiles of N*P*Q (batched: of T), y tiles of K, z 1 (batched: 16); x and y loop, so the
// host may clamp each to 65535 groups.
// Loops depend only on the group id and uniforms, so barrier() is in uniform control flow.

layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

const int HM = GEMM_HM, HN = GEMM_HN;
const int BM = 64 * HM;  // output channels per group
const int BN = 64 * HN;  // pixels per group
const int BK = 16;       // reduction elements per shared-memory chunk
const int THREADS = 256;
const int A_LOADS = BK * BM / THREADS;  // elements each invocation stages per chunk
const int B_LOADS = BK * BN / THREADS;

// [kk][m / 4] and [kk][n / 4]: one vec4 read gives four channels or four pixels.
shared vec4 s_a[BK * BM / 4];
shared vec4 s_b[BK * BN / 4];
// The im2col row of each reduction element of a chunk, decoded once per chunk instead of once per
// load (two integer divisions each): (c * H * W + r * DH * W + s * DW, r * DH, s * DW, inside CRS).
// Two chunks' worth: the next chunk's rows are written while this chunk's prefetch may read them.
shared ivec4 s_rows[2][BK];

void main() {
  const int N = u_input.x, C = u_input.y, H = u_input.z, W = u_input.w;
  const int K = u_output.x, P = u_output.y, Q = u_output.z;
#if GEMM_BATCHED
  const int R = 1, S = 1, RS = 1, CRS = C;
#else
  const int R = u_kernel.x, S = u_kernel.y, RS = R * S, CRS = C * R * S;
#endif
  const bool has_bias = u_kernel.z != 0;
  const int SH = u_stride_pad.x, SW = u_stride_pad.y, PH = u_stride_pad.z, PW = u_stride_pad.w;
  const int DH = u_dilation.x, DW = u_dilation.y;
#if GEMM_BATCHED
  // The reduction runs over C alone and the "pixels" are the T Winograd tiles.
  const int xi = int(gl_WorkGroupID.z);
  const int T = N * ((P + 1) / 2) * ((Q + 1) / 2);
  const int PQ = P * Q, NPQ = T;
  const int a_base = xi * K * C, b_base = xi * C * T, y_base = xi * K * T;
#else
  const int PQ = P * Q, NPQ = N * PQ;
#endif
  const int tiles_n = (NPQ + BN - 1) / BN, tiles_m = (K + BM - 1) / BM;
  const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
  const int tid = ty * 16 + tx;

  // What this invocation stages (im2col mode; the batched mode's vec4s are below): A (weights)
  // elements kk = tid % 16, m = tid / 16 + 16 * i, so 16 neighbours read 16 consecutive weights;
  // B (input) elements nn = tid % BN, kk = tid / BN + (THREADS / BN) * i, so neighbours read
  // neighbouring pixels.
  const int a_kk = tid % BK, a_m = tid / BK;
  const int b_nn = tid % BN, b_kk = tid / BN;
  const int B_KK_STEP = THREADS / BN;

  for (int tm = int(gl_WorkGroupID.y); tm < tiles_m; tm += int(gl_NumWorkGroups.y)) {
    for (int tn = int(gl_WorkGroupID.x); tn < tiles_n; tn += int(gl_NumWorkGroups.x)) {
      const int m0 = tm * BM, n0 = tn * BN;

#if !GEMM_BATCHED
      // The staged pixel, decoded once per tile.
      const int npq = n0 + b_nn;
      const bool pixel_in = npq < NPQ;
      const int img = npq / PQ, pq = npq - (npq / PQ) * PQ;
      const int p = pq / Q, q = pq - (pq / Q) * Q;
      const int ih0 = p * SH - PH, iw0 = q * SW - PW;
      const int img_base = img * C * H * W;
#endif

#if GEMM_BATCHED
      // Plain matrices: no im2col rows to decode.
#define GEMM_ROWS(chunk)
#else
      // Rows of chunk `chunk` into s_rows[chunk % 2], by the first BK invocations.
#define GEMM_ROWS(chunk)                                                         \
  if (tid < BK) {                                                                \
    const int kb = (chunk) * BK + tid;                                           \
    const int c = kb / RS, rs = kb - (kb / RS) * RS;                             \
    const int r = rs / S, s = rs - (rs / S) * S;                                 \
    s_rows[(chunk) % 2][tid] = ivec4(c * H * W + r * DH * W + s * DW, r * DH, s * DW, kb < CRS ? 1 : 0); \
  }
#endif
      // This pass's chunks of BK reduction elements.
      const int first_chunk = u_split.x, chunks = u_split.y;
      GEMM_ROWS(first_chunk)
      barrier();

#if GEMM_BATCHED
      // Staged a vec4 at a time: A element kk = tid % BK of channels 4 (tid / BK + 16 i) .. + 3
      // (16 neighbours read 16 consecutive elements of each row); B tiles 4 (tid % (BN / 4)) .. + 3
      // of row kk = tid / (BN / 4) + (THREADS / (BN / 4)) i (neighbours read on along the row).
      vec4 a_next[A_LOADS / 4];
      vec4 b_next[B_LOADS / 4];
      const int v_n4 = tid % (BN / 4), v_kk = tid / (BN / 4), V_KK_STEP = THREADS / (BN / 4);
      // Loads chunk `chunk` of U[xi] and V[xi] into a_next / b_next, zeros outside the matrices.
#define GEMM_LOAD(chunk)                                                                \
  for (int i = 0; i < A_LOADS / 4; ++i) {                                               \
    const int m = m0 + 4 * (a_m + 16 * i), ka = (chunk) * BK + a_kk;                    \
    for (int j = 0; j < 4; ++j) a_next[i][j] = (m + j < K && ka < C) ? wt[a_base + (m + j) * C + ka] : 0.0; \
  }                                                                                     \
  for (int i = 0; i < B_LOADS / 4; ++i) {                                               \
    const int kb = (chunk) * BK + v_kk + V_KK_STEP * i, n = n0 + 4 * v_n4;              \
    for (int j = 0; j < 4; ++j) b_next[i][j] = (n + j < NPQ && kb < C) ? x[b_base + kb * T + n + j] : 0.0; \
  }
#else
      float a_next[A_LOADS];
      float b_next[B_LOADS];
      // Loads chunk `crs0` of A and B into a_next / b_next, zeros outside the problem.
#define GEMM_LOAD(chunk)                                                    \
  for (int i = 0; i < A_LOADS; ++i) {                                       \
    const int m = m0 + a_m + 16 * i, ka = (chunk) * BK + a_kk;              \
    a_next[i] = (m < K && ka < CRS) ? wt[m * CRS + ka] : 0.0;               \
  }                                                                         \
  for (int i = 0; i < B_LOADS; ++i) {                                       \
    const ivec4 row = s_rows[(chunk) % 2][b_kk + B_KK_STEP * i];            \
    const int ih = ih0 + row.y, iw = iw0 + row.z;                           \
    const bool inside = pixel_in && row.w != 0 && ih >= 0 && ih < H && iw >= 0 && iw < W; \
    b_next[i] = inside ? x[pixel_base + row.x] : 0.0;                       \
  }
      // The staged pixel's offset with r = s = 0 and c = 0 (may point before the image: only used
      // with the row's offset added, and only inside it).
      const int pixel_base = img_base + ih0 * W + iw0;
#endif
      GEMM_LOAD(first_chunk)

      // acc[(hm * 4 + i) * HN + hn]: channel m0 + hm * BM / 2 + 4 ty + i, pixels
      // n0 + hn * BN / 2 + 4 tx .. + 3 (with HM or HN 1, the half offset is unused).
      vec4 acc[4 * HM * HN];
      for (int i = 0; i < 4 * HM * HN; ++i) acc[i] = vec4(0.0);
      for (int chunk = first_chunk; chunk < chunks; ++chunk) {
        barrier();  // the previous chunk's readers are done with shared memory
#if GEMM_BATCHED
        for (int i = 0; i < A_LOADS / 4; ++i) s_a[a_kk * (BM / 4) + a_m + 16 * i] = a_next[i];
        for (int i = 0; i < B_LOADS / 4; ++i) s_b[(v_kk + V_KK_STEP * i) * (BN / 4) + v_n4] = b_next[i];
#else
        for (int i = 0; i < A_LOADS; ++i) {
          const int m = a_m + 16 * i;
          s_a[a_kk * (BM / 4) + m / 4][m % 4] = a_next[i];
        }
        for (int i = 0; i < B_LOADS; ++i) {
          const int kk = b_kk + B_KK_STEP * i;
          s_b[kk * (BN / 4) + b_nn / 4][b_nn % 4] = b_next[i];
        }
#endif
        if (chunk + 1 < chunks) {
          GEMM_ROWS(chunk + 1)
        }
        barrier();
        if (chunk + 1 < chunks) {
          GEMM_LOAD(chunk + 1)
        }
        for (int kk = 0; kk < BK; ++kk) {
          vec4 xk[HN];
          for (int hn = 0; hn < HN; ++hn) xk[hn] = s_b[kk * (BN / 4) + hn * 16 + tx];  // 4 pixels
          for (int hm = 0; hm < HM; ++hm) {
            const vec4 wk = s_a[kk * (BM / 4) + hm * 16 + ty];  // 4 channels
            for (int hn = 0; hn < HN; ++hn) {
              acc[(hm * 4 + 0) * HN + hn] += wk.x * xk[hn];
              acc[(hm * 4 + 1) * HN + hn] += wk.y * xk[hn];
              acc[(hm * 4 + 2) * HN + hn] += wk.z * xk[hn];
              acc[(hm * 4 + 3) * HN + hn] += wk.w * xk[hn];
            }
          }
        }
      }
#undef GEMM_LOAD
#undef GEMM_ROWS

      for (int hn = 0; hn < HN; ++hn) {
        for (int j = 0; j < 4; ++j) {
          const int o = n0 + hn * 64 + tx * 4 + j;
          if (o >= NPQ) break;
#if GEMM_BATCHED
          for (int hm = 0; hm < HM; ++hm) {
            for (int i = 0; i < 4; ++i) {
              const int k = m0 + hm * 64 + ty * 4 + i;
              if (k >= K) break;
              const int at = y_base + k * T + o;
              y[at] = acc[(hm * 4 + i) * HN + hn][j] + (u_split.z != 0 ? y[at] : 0.0);
            }
          }
#else
          const int o_img = o / PQ, o_pq = o - (o / PQ) * PQ;
          const int base = o_img * K * PQ + o_pq;
          for (int hm = 0; hm < HM; ++hm) {
            for (int i = 0; i < 4; ++i) {
              const int k = m0 + hm * 64 + ty * 4 + i;
              if (k >= K) break;
              const int at = base + k * PQ;
              y[at] = acc[(hm * 4 + i) * HN + hn][j] + (u_split.z != 0 ? y[at] : (has_bias ? b[k] : 0.0));
            }
          }
#endif
        }
      }
    }
  }
}
