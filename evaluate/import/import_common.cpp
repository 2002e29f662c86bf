// evaluate/import/import_common.cpp — what the log importers share (see import_common.hpp).
#include "evaluate/import/import_common.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace evo::import_detail {

std::string base_name(const std::string& p) {
  std::size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

void put_counters(Sink& sink, const ImportStats& st, std::uint64_t realloc_null, std::uint64_t realloc_zero) {
  sink.counter("unmatched_frees", st.unmatched_frees);
  sink.counter("free_null", st.free_null);
  sink.counter("realloc_null", realloc_null);
  sink.counter("realloc_zero", realloc_zero);
  sink.counter("failed_allocs", st.failed_allocs);
  sink.counter("address_reuse", st.address_reuse);
}

void rename_into_place(const std::string& tmp, const std::string& out) {
  if (std::rename(tmp.c_str(), out.c_str()) != 0)
    throw std::runtime_error(out + ": cannot rename from " + tmp + ": " + std::strerror(errno));
}

}  // namespace evo::import_detail
