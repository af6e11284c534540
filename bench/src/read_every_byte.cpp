#include "read_every_byte.hpp"

#include <glad/gl.h>

#include <algorithm>
#include <utility>

namespace gpusoak::bench::detail {
namespace {

// 16-byte loads, coalesced across the group, in a grid-stride loop; then one atomic per subgroup
// (or per invocation where subgroups are missing) into the dispatch's own slot. No shared memory
// and no barrier: llvmpipe runs barrier() as coroutine switches, which doubled the time of a
// 1 MiB read there, and uvec4 loads read 64 MiB in ~60% of the time of uint loads (2 cores,
// Mesa 22.3.6). The per-invocation sum is what the CPU checks, so no load can be dropped.
constexpr const char* source = R"(#version 450
#if defined(GL_KHR_shader_subgroup_basic) && defined(GL_KHR_shader_subgroup_arithmetic)
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define REDUCE_PER_SUBGROUP 1
#endif
layout(local_size_x = 256) in;
// Two views of one binding: 16-byte loads for the body, 4-byte loads for a tail of < 4 words.
layout(std430, binding = 0) readonly buffer Quads { uvec4 quads[]; };
layout(std430, binding = 0) readonly buffer Words { uint words[]; };
layout(std430, binding = 1) buffer Result { uint sums[]; };
uniform uint u_words;
uniform uint u_slot;
void main() {
  uvec4 sum = uvec4(0u);
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  uint quad_count = u_words / 4u;
  for (uint i = gl_GlobalInvocationID.x; i < quad_count; i += stride) {
    sum += quads[i];
  }
  uint total = sum.x + sum.y + sum.z + sum.w;
  if (gl_GlobalInvocationID.x == 0u) {
    for (uint i = quad_count * 4u; i < u_words; ++i) total += words[i];
  }
#ifdef REDUCE_PER_SUBGROUP
  total = subgroupAdd(total);
  if (subgroupElect()) atomicAdd(sums[u_slot], total);
#else
  atomicAdd(sums[u_slot], total);
#endif
}
)";

}  // namespace

gpu::result<read_every_byte> read_every_byte::create(gpu::context& ctx, std::uint32_t slots) {
  auto program = gpu::compute_program::create(ctx, source);
  if (!program) {
    return std::unexpected(program.error());
  }
  read_every_byte made;
  made.program_ = std::move(*program);
  made.slots_ = std::max<std::uint32_t>(slots, 1);
  made.words_location_ = glGetUniformLocation(made.program_.gl_name(), "u_words");
  made.slot_location_ = glGetUniformLocation(made.program_.gl_name(), "u_slot");
  while (glGetError() != GL_NO_ERROR) {
  }  // so the check below sees only the storage call
  // Not unified_buffers on purpose: the result slots are the benchmark's instrument, and their
  // readback must not show up in the copy counters the rows report.
  const auto bytes = static_cast<GLsizeiptr>(made.slots_ * sizeof(GLuint));
  glCreateBuffers(1, &made.result_);
  glNamedBufferStorage(made.result_, bytes, nullptr, 0);
  glCreateBuffers(1, &made.readback_);
  glNamedBufferStorage(made.readback_, bytes, nullptr, GL_CLIENT_STORAGE_BIT);
  if (const GLenum error = glGetError(); error != GL_NO_ERROR) {
    return gpu::make_error(error == GL_OUT_OF_MEMORY ? gpu::error_kind::out_of_memory : gpu::error_kind::internal,
                           "read_every_byte: result buffer storage failed");
  }
  return made;
}

read_every_byte::~read_every_byte() {
  const unsigned names[] = {result_, readback_};
  if (result_ != 0) glDeleteBuffers(2, names);
}

read_every_byte::read_every_byte(read_every_byte&& other) noexcept
    : program_(std::move(other.program_)),
      result_(std::exchange(other.result_, 0)),
      readback_(std::exchange(other.readback_, 0)),
      slots_(other.slots_),
      words_location_(other.words_location_),
      slot_location_(other.slot_location_) {}

read_every_byte& read_every_byte::operator=(read_every_byte&& other) noexcept {
  if (this != &other) {
    read_every_byte old(std::move(*this));
    program_ = std::move(other.program_);
    result_ = std::exchange(other.result_, 0);
    readback_ = std::exchange(other.readback_, 0);
    slots_ = other.slots_;
    words_location_ = other.words_location_;
    slot_location_ = other.slot_location_;
  }
  return *this;
}

void read_every_byte::dispatch(unsigned buffer, std::uint64_t offset, std::uint64_t size, std::uint32_t slot) const {
  const std::uint64_t words = size / sizeof(GLuint);
  program_.use();
  glProgramUniform1ui(program_.gl_name(), words_location_, static_cast<GLuint>(words));
  glProgramUniform1ui(program_.gl_name(), slot_location_, slot % slots_);
  glBindBufferRange(GL_SHADER_STORAGE_BUFFER, 0, buffer, static_cast<GLintptr>(offset), static_cast<GLsizeiptr>(size));
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, result_);
  // One invocation per 16-byte quad until the cap; past it, the grid-stride loop takes over.
  glDispatchCompute(std::min(program_.groups_for((words + 3) / 4), max_groups), 1, 1);
}

void read_every_byte::clear() const {
  const GLuint zero = 0;
  // The clear is an API write: it waits for earlier shader writes only behind this barrier; later
  // dispatches see it without one.
  glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
  glClearNamedBufferData(result_, GL_R32UI, GL_RED_INTEGER, GL_UNSIGNED_INT, &zero);
}

std::vector<std::uint32_t> read_every_byte::read(std::uint32_t count) const {
  std::vector<std::uint32_t> sums(std::min(count, slots_));
  const auto bytes = static_cast<GLsizeiptr>(sums.size() * sizeof(GLuint));
  // Shader atomics become visible to buffer copies and reads only after this barrier. The copy
  // keeps `result_` in device memory: reading it directly made NVIDIA 580 move it to host memory
  // and back around every trial ("Buffer performance warning ... copied/moved from VIDEO memory
  // to HOST memory"), inside the timed dispatches.
  glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
  glCopyNamedBufferSubData(result_, readback_, 0, 0, bytes);
  glGetNamedBufferSubData(readback_, 0, bytes, sums.data());
  return sums;
}

}  // namespace gpusoak::bench::detail
