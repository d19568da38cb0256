#include "text/jinja/utf8.h"

namespace ts::jinja::utf8 {

char32_t Next(std::string_view s, size_t& pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = byte(pos);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || pos + len > s.size()) {
    ++pos;
    return len == 1 ? c : 0xfffd;
  }
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (int i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xc0) != 0x80) {
      ++pos;
      return 0xfffd;
    }
    cp = (cp << 6) | (byte(pos + i) & 0x3f);
  }
  pos += len;
  return cp;
}

void Append(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

size_t Length(std::string_view s) {
  size_t n = 0;
  for (size_t pos = 0; pos < s.size(); ++n) Next(s, pos);
  return n;
}

std::vector<size_t> Offsets(std::string_view s) {
  std::vector<size_t> offsets;
  for (size_t pos = 0; pos < s.size();) {
    offsets.push_back(pos);
    Next(s, pos);
  }
  offsets.push_back(s.size());
  return offsets;
}

bool IsSpace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

std::string_view Strip(std::string_view s, const std::string* chars, bool left, bool right) {
  auto strippable = [&](char32_t cp) {
    if (chars == nullptr) return IsSpace(cp);
    for (size_t pos = 0; pos < chars->size();) {
      if (Next(*chars, pos) == cp) return true;
    }
    return false;
  };
  size_t begin = 0;
  if (left) {
    while (begin < s.size()) {
      size_t next = begin;
      if (!strippable(Next(s, next))) break;
      begin = next;
    }
  }
  size_t end = s.size();
  if (right) {
    std::vector<size_t> offsets = Offsets(s.substr(begin));
    for (size_t i = offsets.size() - 1; i > 0; --i) {
      size_t start = begin + offsets[i - 1];
      size_t pos = start;
      if (!strippable(Next(s, pos))) break;
      end = start;
    }
  }
  return s.substr(begin, end - begin);
}

char32_t ToUpper(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) || (cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3c2) ||
      (cp >= 0x430 && cp <= 0x44f)) {
    return cp - 32;
  }
  if (cp >= 0x450 && cp <= 0x45f) return cp - 80;
  return cp;
}

char32_t ToLower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7) || (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) ||
      (cp >= 0x410 && cp <= 0x42f)) {
    return cp + 32;
  }
  if (cp >= 0x400 && cp <= 0x40f) return cp + 80;
  return cp;
}

bool IsAlpha(char32_t cp) {
  return ToUpper(cp) != cp || ToLower(cp) != cp || cp == 0xdf || (cp >= 0x3400 && cp <= 0x9fff);
}

bool IsDigit(char32_t cp) { return cp >= '0' && cp <= '9'; }

bool CaseIs(std::string_view s, bool lower) {
  bool cased = false;
  for (size_t pos = 0; pos < s.size();) {
    char32_t cp = Next(s, pos);
    bool is_upper = ToLower(cp) != cp;
    bool is_lower = ToUpper(cp) != cp;
    if ((lower && is_upper) || (!lower && is_lower)) return false;
    cased = cased || is_upper || is_lower;
  }
  return cased;
}

namespace {

template <typename F>
std::string MapCodePoints(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    char32_t cp = Next(s, pos);
    char32_t mapped = f(cp);
    if (mapped == cp) {
      out.append(s.substr(start, pos - start));
    } else {
      Append(mapped, out);
    }
  }
  return out;
}

}  // namespace

std::string Upper(std::string_view s) { return MapCodePoints(s, ToUpper); }
std::string Lower(std::string_view s) { return MapCodePoints(s, ToLower); }

}  // namespace ts::jinja::utf8
