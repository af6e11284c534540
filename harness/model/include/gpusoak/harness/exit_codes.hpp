// The exit codes of gpusoak's commands and of gpusoakd, and the gate's verdict as one: a CI step
// reads them without parsing output.
#pragma once

namespace gpusoak::harness {

inline constexpr int exit_pass = 0;           // done; the gate passed
inline constexpr int exit_fail = 1;           // the gate failed (a threshold failed)
inline constexpr int exit_could_not_run = 2;  // bad flags, plan or request; no GPU; no data to gate
inline constexpr int exit_aborted = 3;        // the run was aborted (stopped, or a phase aborted it)

}  // namespace gpusoak::harness
