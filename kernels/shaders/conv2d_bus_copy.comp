// The bus copy: moves u_count floats from binding 0 to binding 3, 16 bytes an invocation. Used
// on the zero-copy path of a discrete GPU (conv2d_session: the input from host memory into
// device scratch before the kernel, the output back after it), for kernels that would otherwise
// touch host memory in 4-byte pieces many times over (winograd reads each input element four
// times, from overlapping patches, and writes its output at a stride of two). Over PCIe small
// pieces cost far more than their bytes: on the H100 winograd took 13.5 ms on N32 C64 56x56
// reading and writing host memory, against 0.34 in device memory. This moves each element once,
// neighbours next to neighbours, so the bus carries whole lines. Not an API copy: the kernel
// itself reads and writes host memory, once each.
//
// It reads as the upload bench's read shader does (bench/src/read_every_byte.cpp, 50 GB/s over
// the H100's PCIe): 16-byte loads, 256 invocations a group, a grid-stride loop; the host caps it
// at 1,024 groups. Second views of the common input and output bindings give the 16-byte loads
// and stores.
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(std430, binding = 0) readonly restrict buffer copy_source { vec4 x4[]; };
layout(std430, binding = 3) writeonly restrict buffer copy_target { vec4 y4[]; };
layout(location = 5) uniform int u_count;  // floats to copy

void main() {
  const int total = u_count, quads = total / 4;
  const int step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int(gl_GlobalInvocationID.x); i < quads; i += step) y4[i] = x4[i];
  if (gl_GlobalInvocationID.x == 0) {  // a tail of < 4 floats
    for (int i = quads * 4; i < total; ++i) y[i] = x[i];
  }
}
