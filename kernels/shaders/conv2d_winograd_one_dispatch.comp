// Winograd F(2x2, 3x3) conv2d in one dispatch, for small inputs with few channels
// (conv2d_session::winograd_in_one_dispatch): the input transform, the 16 products summed over
// the channels and the output transform of conv2d_winograd.comp, in shared memory and registers
// of one work group, with no scratch between them. A small conv's time is mostly per-dispatch
// cost (launch, barrier, the GPU's drain between dependent dispatches); the three-step kernel's
// GEMM tiles only pay off when there are thousands of tiles to fill them.
//
// Bindings (conv2d_common.glsl): x = input NCHW, wt = U[xi][k][c] (conv2d_winograd.comp's
// stage 0, from commit_weights), b = bias, y = output NKPQ; xi = 4 i + j indexes the 4x4
// transformed tile.
//
// A group computes a block of TILES_W x TILES_H output tiles (2x2 pixels each, 16 tiles) of one
// image for KB output channels: invocation (x, y) owns tile x of the block and channel k0 + y,
// and keeps its 16 products in registers. Per chunk of CB input channels the group stages the
// block's input patch and the chunk's U in shared memory, transforms the patch into V there,
// and each invocation accumulates its tile's 16 products. On the zero-copy path of a discrete
// GPU the input and output are host memory across a bus, read and written in place: the patch
// rows are loaded as whole vec4s a chunk ahead of their use, so the round trip overlaps the
// arithmetic (a first version loading 4 bytes on use: N1 C16 38-44 µs of GPU time on the H100,
// this one 26-33 in a later call), and a row of 16 tiles is 32 output pixels, so a warp's
// stores of an output row cover whole lines.
//
// Grid: x over (image, block) pairs, y over blocks of 16 output channels; both loop, so the host
// may clamp each axis to 65535 groups. Loops depend only on the group id and uniforms, so
// barrier() is in uniform control flow.

#if WINOGRAD_TILES_W * WINOGRAD_TILES_H != 16 || WINOGRAD_OUT_CHANNELS != 16
#error "the group is 16 tiles by 16 output channels: one invocation each"
#endif
layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

// winograd_one_dispatch_params (conv2d.hpp), injected by the host.
const int TILES_W = WINOGRAD_TILES_W, TILES_H = WINOGRAD_TILES_H;  // output tiles per group
const int KB = WINOGRAD_OUT_CHANNELS;                              // output channels per group
const int CB = WINOGRAD_IN_CHANNELS;                               // input channels per chunk
const int PR = 2 * TILES_H + 2, PC = 2 * TILES_W + 2;  // the block's input patch: rows, columns
const int PCV = PC / 4 + 2;            // vec4s that cover PC columns from any start
const int PS = 4 * PCV;                // a patch row's stride in s_in
const int THREADS = 16 * KB;
const int IN_LOADS = (CB * PR * PCV + THREADS - 1) / THREADS;  // patch vec4s per invocation

// The input as vec4s, for the patch loads where W is a multiple of 4.
layout(std430, binding = 0) readonly restrict buffer conv_input4 { vec4 x4[]; };

shared float s_in[CB * PR * PS];  // [c][row][col]
shared float s_v[16 * CB * 16];   // [xi][c][tile]
shared float s_u[16 * CB * KB];   // [xi][c][k]

void main() {
  const int N = u_input.x, C = u_input.y, H = u_input.z, W = u_input.w;
  const int K = u_output.x, P = u_output.y, Q = u_output.z;
  const int PH = u_stride_pad.z, PW = u_stride_pad.w;
  const bool has_bias = u_kernel.z != 0;
  const int TP = (P + 1) / 2, TQ = (Q + 1) / 2;
  const int blocks_w = (TQ + TILES_W - 1) / TILES_W, blocks_h = (TP + TILES_H - 1) / TILES_H;
  const int blocks = N * blocks_h * blocks_w, k_blocks = (K + KB - 1) / KB;
  const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
  const int tid = ty * 16 + tx;
  const int chunks = (C + CB - 1) / CB;
  const bool rows4 = (W & 3) == 0;  // every row starts 16-byte aligned

  for (int kb = int(gl_WorkGroupID.y); kb < k_blocks; kb += int(gl_NumWorkGroups.y)) {
    const int k0 = kb * KB;
    for (int blk = int(gl_WorkGroupID.x); blk < blocks; blk += int(gl_NumWorkGroups.x)) {
      const int n = blk / (blocks_h * blocks_w), bhw = blk - n * (blocks_h * blocks_w);
      const int tp0 = (bhw / blocks_w) * TILES_H, tq0 = (bhw - (bhw / blocks_w) * blocks_w) * TILES_W;
      const int ih0 = 2 * tp0 - PH, iw0 = 2 * tq0 - PW;
      // rows4: the patch's rows are loaded from the 16-byte boundary at or before iw0, whole
      // vec4s (inside or outside the image as a whole), and column 0 of the tile block sits at
      // `off` in s_in. Else one float per load from iw0.
      const int iwa = rows4 ? (iw0 >> 2) << 2 : iw0, off = iw0 - iwa;

      // The patch of chunk `chunk`, into registers: issued a chunk ahead of its use, so the
      // round trip across the bus overlaps the previous chunk's arithmetic.
      vec4 in_next[IN_LOADS];
#define LOAD_PATCH(chunk)                                                                         \
  for (int l = 0; l < IN_LOADS; ++l) {                                                            \
    const int e = tid + l * THREADS;                                                              \
    const int c = e / (PR * PCV), rv = e - c * (PR * PCV);                                        \
    const int cc = (chunk) * CB + c, ih = ih0 + rv / PCV, v = rv - (rv / PCV) * PCV;             \
    const bool row_in = e < CB * PR * PCV && cc < C && ih >= 0 && ih < H;                        \
    const int row = ((n * C + cc) * H + ih) * W;                                                  \
    if (rows4) {                                                                                  \
      const int iw = iwa + 4 * v;                                                                 \
      in_next[l] = row_in && iw >= 0 && iw < W ? x4[(row + iw) / 4] : vec4(0.0);                 \
    } else {                                                                                      \
      for (int j = 0; j < 4; ++j) {                                                               \
        const int iw = iwa + 4 * v + j;                                                           \
        in_next[l][j] = row_in && iw >= 0 && iw < W ? x[row + iw] : 0.0;                          \
      }                                                                                           \
    }                                                                                             \
  }
      LOAD_PATCH(0)

      vec4 m[4];  // m[i][j]: product xi = 4 i + j of this invocation's tile and channel
      for (int i = 0; i < 4; ++i) m[i] = vec4(0.0);

      for (int chunk = 0; chunk < chunks; ++chunk) {
        const int c0 = chunk * CB;
        barrier();  // the previous chunk's readers are done with shared memory
        for (int l = 0; l < IN_LOADS; ++l) {
          const int e = tid + l * THREADS;
          if (e < CB * PR * PCV) {
            for (int j = 0; j < 4; ++j) s_in[4 * e + j] = in_next[l][j];
          }
        }
        for (int e = tid; e < 16 * CB * KB; e += THREADS) {
          const int c = e % CB, k = (e / CB) % KB, xi = e / (CB * KB);
          const bool inside = c0 + c < C && k0 + k < K;
          s_u[(xi * CB + c) * KB + k] = inside ? wt[(xi * K + k0 + k) * C + c0 + c] : 0.0;
        }
        barrier();
        if (chunk + 1 < chunks) {
          LOAD_PATCH(chunk + 1)
        }
        // V = B^T d B (winograd_input_transform, conv2d_common.glsl): one (tile, channel) each.
        if (tid < 16 * CB) {
          const int t = tid % 16, c = tid / 16;
          const int base = c * PR * PS + 2 * (t / TILES_W) * PS + 2 * (t % TILES_W) + off;
          vec4 d[4];  // d[r][s]: row r of the tile's patch
          for (int r = 0; r < 4; ++r) {
            d[r] = vec4(s_in[base + r * PS], s_in[base + r * PS + 1], s_in[base + r * PS + 2], s_in[base + r * PS + 3]);
          }
          vec4 v[4];
          winograd_input_transform(d, v);
          for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 4; ++j) s_v[((i * 4 + j) * CB + c) * 16 + t] = v[i][j];
          }
        }
        barrier();
        for (int c = 0; c < CB; ++c) {
          for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 4; ++j) {
              const int at = (i * 4 + j) * CB + c;
              m[i][j] += s_v[at * 16 + tx] * s_u[at * KB + ty];
            }
          }
        }
      }
#undef LOAD_PATCH

      // out = A^T m A + bias (winograd_output_transform), for the 2x2 outputs inside P x Q.
      const int k = k0 + ty, tp = tp0 + tx / TILES_W, tq = tq0 + tx % TILES_W;
      if (k < K && tp < TP && tq < TQ) {
        const float bias = has_bias ? b[k] : 0.0;
        vec2 rows[2];
        winograd_output_transform(m, rows);
        winograd_store_tile(rows, bias, n, k, tp, tq);
      }
    }
  }
}
