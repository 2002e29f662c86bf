// evaluate/import/line_source.hpp — lines of a text log, plain or zstd-compressed.
//
// Internal helper of the importers (for_each_line is their read loop). The input is
// recognised as zstd by its magic bytes (not by its name) and decompressed as a
// stream; lines are returned without '\n' and without a trailing '\r'. Errors:
// std::runtime_error "<path>: cannot open: ...", "is a directory", "read failed",
// "zstd: ...", "truncated zstd stream".
#pragma once

#include <sys/stat.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace evo::import_detail {

/// Reads a file, plain or zstd, and hands out complete lines.
class LineSource {
 public:
  explicit LineSource(const std::string& path) : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw std::runtime_error(path + ": is a directory, expected a text log");
    f_ = std::fopen(path.c_str(), "rb");
    if (f_ == nullptr) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    in_.resize(1 << 17);
    std::size_t n = std::fread(in_.data(), 1, in_.size(), f_);
    inbuf_ = {in_.data(), n, 0};
    static const unsigned char zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (n >= 4 && std::memcmp(in_.data(), zmagic, 4) == 0) {
      dctx_ = ZSTD_createDCtx();
      out_.resize(ZSTD_DStreamOutSize());
    }
  }
  ~LineSource() {
    if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
    if (f_ != nullptr) std::fclose(f_);
  }
  /// Next line without '\n' (and without a trailing '\r'); false at the end.
  bool next(std::string_view& line) {
    for (;;) {
      std::size_t nl = text_.find('\n', pos_);
      if (nl != std::string::npos) {
        line = std::string_view(text_).substr(pos_, nl - pos_);
        pos_ = nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      text_.erase(0, pos_);
      pos_ = 0;
      if (!more()) {
        if (text_.empty()) return false;
        tail_ = std::move(text_);  // last line without '\n'
        text_.clear();
        line = tail_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
    }
  }

 private:
  bool more() {
    for (;;) {
      if (inbuf_.pos == inbuf_.size) {
        if (eof_) return false;
        std::size_t n = std::fread(in_.data(), 1, in_.size(), f_);
        if (n == 0) {
          if (std::ferror(f_)) throw std::runtime_error(path_ + ": read failed: " + std::strerror(errno));
          eof_ = true;
          if (dctx_ != nullptr && hint_ != 0) throw std::runtime_error(path_ + ": truncated zstd stream");
          return false;
        }
        inbuf_ = {in_.data(), n, 0};
      }
      if (dctx_ == nullptr) {
        text_.append(static_cast<const char*>(inbuf_.src) + inbuf_.pos, inbuf_.size - inbuf_.pos);
        inbuf_.pos = inbuf_.size;
        return true;
      }
      ZSTD_outBuffer o{out_.data(), out_.size(), 0};
      hint_ = ZSTD_decompressStream(dctx_, &o, &inbuf_);
      if (ZSTD_isError(hint_)) throw std::runtime_error(path_ + ": zstd: " + ZSTD_getErrorName(hint_));
      if (o.pos > 0) {
        text_.append(out_.data(), o.pos);
        return true;
      }
    }
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  ZSTD_DCtx* dctx_ = nullptr;
  std::vector<char> in_, out_;
  ZSTD_inBuffer inbuf_{nullptr, 0, 0};
  std::size_t hint_ = 0;
  bool eof_ = false;
  std::string text_, tail_;
  std::size_t pos_ = 0;
};

/// Hands every line of `path` to `parse(line)`, in order, counting it in `lines`
/// first (the importers' stats; their error messages name line `lines`).
template <class Count, class Parse>
void for_each_line(const std::string& path, Count& lines, Parse parse) {
  LineSource src(path);
  std::string_view line;
  while (src.next(line)) {
    ++lines;
    parse(line);
  }
}

}  // namespace evo::import_detail
