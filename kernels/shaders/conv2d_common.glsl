// Shared by every conv2d kernel; the host prepends "#version" and the tiling #defines, then this
// file, then the kernel. Layout: input NCHW, weights KCRS (C per group), bias K, output NKPQ,
// all tightly packed float32 from the start of each bound range.

layout(std430, binding = 0) readonly restrict buffer conv_input { float x[]; };
layout(std430, binding = 1) readonly restrict buffer conv_weights { float wt[]; };
layout(std430, binding = 2) readonly restrict buffer conv_bias { float b[]; };
layout(std430, binding = 3) writeonly restrict buffer conv_output { float y[]; };

layout(location = 0) uniform ivec4 u_input;     // N, C, H, W
layout(location = 1) uniform ivec4 u_output;    // K, P, Q, groups
layout(location = 2) uniform ivec4 u_kernel;    // R, S, has_bias (0/1), unused
layout(location = 3) uniform ivec4 u_stride_pad;  // stride_h, stride_w, pad_h, pad_w
layout(location = 4) uniform ivec4 u_dilation;  // dilation_h, dilation_w, unused, unused

// Winograd F(2x2, 3x3) (Lavin & Gray 2016), for conv2d_winograd.comp and
// conv2d_winograd_one_dispatch.comp. V = B^T d B of a 4x4 input patch d (d[r]: row r), B^T =
// [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: v[i][j] is entry xi = 4 i + j.
void winograd_input_transform(in vec4 d[4], out vec4 v[4]) {
  const vec4 e[4] = vec4[4](d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]);  // B^T d
  for (int i = 0; i < 4; ++i) v[i] = vec4(e[i].x - e[i].z, e[i].y + e[i].z, e[i].z - e[i].y, e[i].y - e[i].w);
}
// A^T m A of the 16 products (m[i][j]: entry 4 i + j), A^T = [1 1 1 0; 0 1 -1 -1]: the tile's two
// output rows of two pixels each.
void winograd_output_transform(in vec4 m[4], out vec2 rows[2]) {
  const vec4 a[2] = vec4[2](m[0] + m[1] + m[2], m[1] - m[2] - m[3]);  // A^T m
  for (int i = 0; i < 2; ++i) rows[i] = vec2(a[i].x + a[i].y + a[i].z, a[i].y - a[i].z - a[i].w);
}
