// evaluate/cpu_gate.cpp — see cpu_gate.hpp.
#include "evaluate/cpu_gate.hpp"

namespace evo {

void CpuGate::lock() {
  std::unique_lock<std::mutex> g(m_);
  ++exclusive_waiting_;
  cv_.wait(g, [&] { return !exclusive_ && shared_ == 0; });
  --exclusive_waiting_;
  exclusive_ = true;
}

void CpuGate::unlock() {
  {
    std::lock_guard<std::mutex> g(m_);
    exclusive_ = false;
  }
  cv_.notify_all();
}

void CpuGate::lock_shared() {
  std::unique_lock<std::mutex> g(m_);
  cv_.wait(g, [&] { return !exclusive_ && exclusive_waiting_ == 0; });
  ++shared_;
}

bool CpuGate::try_lock_shared() {
  std::lock_guard<std::mutex> g(m_);
  if (exclusive_ || exclusive_waiting_ != 0) return false;
  ++shared_;
  return true;
}

void CpuGate::unlock_shared() {
  bool last;
  {
    std::lock_guard<std::mutex> g(m_);
    last = --shared_ == 0;
  }
  if (last) cv_.notify_all();
}

int CpuGate::exclusive_waiting() const {
  std::lock_guard<std::mutex> g(m_);
  return exclusive_waiting_;
}

CpuGate& cpu_gate() {
  static CpuGate gate;
  return gate;
}

}  // namespace evo
