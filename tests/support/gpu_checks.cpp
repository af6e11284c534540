#include "gpu_checks.hpp"

#include <glad/gl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace gpusoak::test {
namespace {

// Byte-exact access through buffer textures (R8UI): an SSBO reads whole uint words, and the
// last partial word of a buffer whose size is not a multiple of 4 is out of bounds.
constexpr const char* checksum_source = R"(#version 450
layout(local_size_x = 256) in;
layout(binding = 0) uniform usamplerBuffer data;
layout(std430, binding = 1) buffer Result { uint sums[]; };
uniform uint u_offset;   // first byte
uniform uint u_size;     // bytes
uniform uint u_slot;
uniform uint u_spin;
shared uint partial[256];
uint weight(uint i) { return i * 2654435761u + 1u; }
void main() {
  uint sum = 0u;
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;  // grid-stride: group count stays small
  for (uint i = gl_GlobalInvocationID.x; i < u_size; i += step) {
    uint value = texelFetch(data, int(u_offset + i)).r;
    // A slow reader: re-read the byte u_spin times, as a long shader would.
    for (uint s = 0u; s < u_spin; ++s) { value = texelFetch(data, int(u_offset + i)).r | (value & 0u); }
    sum += value * weight(i);
  }
  partial[gl_LocalInvocationID.x] = sum;
  barrier();
  for (uint stride = 128u; stride > 0u; stride >>= 1u) {
    if (gl_LocalInvocationID.x < stride) partial[gl_LocalInvocationID.x] += partial[gl_LocalInvocationID.x + stride];
    barrier();
  }
  if (gl_LocalInvocationID.x == 0u) atomicAdd(sums[u_slot], partial[0]);
}
)";

constexpr const char* fill_source = R"(#version 450
layout(local_size_x = 256) in;
layout(binding = 0, r8ui) uniform writeonly uimageBuffer data;
uniform uint u_offset;
uniform uint u_size;
uniform uint u_seed;
uint mix32(uint x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16; return x;
}
void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < u_size; i += step) {
    imageStore(data, int(u_offset + i), uvec4((mix32(u_seed ^ (i * 0x9e3779b9u)) >> 8) & 0xffu));
  }
}
)";

gpu::compute_program compile(gpu::context& ctx, const char* source) {
  auto made = gpu::compute_program::create(ctx, source);
  if (!made) {
    ADD_FAILURE() << made.error().message;
    std::abort();
  }
  return std::move(*made);
}

std::uint32_t mix32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

GLuint uniform(unsigned program, const char* name) {
  return static_cast<GLuint>(glGetUniformLocation(program, name));
}

}  // namespace

std::uint32_t cpu_checksum(std::span<const std::byte> bytes, std::uint64_t first_index) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto index = static_cast<std::uint32_t>(first_index + i);
    sum += static_cast<std::uint32_t>(bytes[i]) * (index * 2654435761u + 1u);
  }
  return sum;
}

std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t index) {
  return static_cast<std::uint8_t>((mix32(seed ^ (static_cast<std::uint32_t>(index) * 0x9e3779b9u)) >> 8) & 0xffu);
}

gpu_checks::gpu_checks(gpu::context& ctx)
    : ctx_(ctx), checksum_(compile(ctx, checksum_source)), fill_(compile(ctx, fill_source)) {
  glCreateBuffers(1, &result_);
  glNamedBufferData(result_, 4, nullptr, GL_DYNAMIC_READ);
  glCreateTextures(GL_TEXTURE_BUFFER, 1, &texture_);
}

gpu_checks::~gpu_checks() {
  glDeleteTextures(1, &texture_);
  glDeleteBuffers(1, &result_);
}

void gpu_checks::checksum_async(unsigned buffer_name, std::uint64_t offset, std::uint64_t size, unsigned results_name,
                                std::uint32_t slot, std::uint32_t spin) {
  checksum_.use();
  glUniform1ui(uniform(checksum_.gl_name(), "u_offset"), static_cast<GLuint>(offset));
  glUniform1ui(uniform(checksum_.gl_name(), "u_size"), static_cast<GLuint>(size));
  glUniform1ui(uniform(checksum_.gl_name(), "u_slot"), slot);
  glUniform1ui(uniform(checksum_.gl_name(), "u_spin"), spin);
  glTextureBuffer(texture_, GL_R8UI, buffer_name);
  glBindTextureUnit(0, texture_);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, results_name);
  glDispatchCompute(std::min<std::uint32_t>(checksum_.groups_for(size), 1024), 1, 1);
}

std::uint32_t gpu_checks::checksum(unsigned buffer_name, std::uint64_t offset, std::uint64_t size) {
  const std::uint32_t zero = 0;
  glNamedBufferSubData(result_, 0, 4, &zero);
  checksum_async(buffer_name, offset, size, result_, 0, 0);
  glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
  std::uint32_t sum = 0;
  glGetNamedBufferSubData(result_, 0, 4, &sum);
  return sum;
}

void gpu_checks::fill(unsigned buffer_name, std::uint64_t offset, std::uint64_t size, std::uint32_t seed) {
  fill_.use();
  glUniform1ui(uniform(fill_.gl_name(), "u_offset"), static_cast<GLuint>(offset));
  glUniform1ui(uniform(fill_.gl_name(), "u_size"), static_cast<GLuint>(size));
  glUniform1ui(uniform(fill_.gl_name(), "u_seed"), seed);
  glTextureBuffer(texture_, GL_R8UI, buffer_name);
  glBindImageTexture(0, texture_, 0, GL_FALSE, 0, GL_WRITE_ONLY, GL_R8UI);
  glDispatchCompute(std::min<std::uint32_t>(fill_.groups_for(size), 1024), 1, 1);
}

}  // namespace gpusoak::test
