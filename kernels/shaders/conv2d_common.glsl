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
