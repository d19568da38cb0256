#include "text/utf8.h"

namespace ts::text {
namespace {

// The range of valid second bytes for a lead byte (Unicode Table 3-7); later continuation
// bytes are always 0x80..0xBF.
struct SecondByteRange {
  uint8_t lo;
  uint8_t hi;
};

SecondByteRange SecondRange(uint8_t lead) {
  if (lead == 0xE0) return {0xA0, 0xBF};
  if (lead == 0xED) return {0x80, 0x9F};
  if (lead == 0xF0) return {0x90, 0xBF};
  if (lead == 0xF4) return {0x80, 0x8F};
  return {0x80, 0xBF};
}

// Sequence length announced by a lead byte, 0 for bytes that cannot start a sequence.
size_t LeadLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Number of bytes at s[pos] that form a valid prefix of a sequence (the "maximal subpart"),
// and whether that prefix is the complete sequence.
size_t MaximalSubpart(std::string_view s, size_t pos, bool* complete) {
  const auto lead = static_cast<uint8_t>(s[pos]);
  const size_t need = LeadLength(lead);
  *complete = need == 1;
  if (need <= 1) return 1;
  size_t len = 1;
  while (len < need && pos + len < s.size()) {
    const auto b = static_cast<uint8_t>(s[pos + len]);
    const SecondByteRange r = len == 1 ? SecondRange(lead) : SecondByteRange{0x80, 0xBF};
    if (b < r.lo || b > r.hi) return len;
    ++len;
  }
  *complete = len == need;
  return len;
}

}  // namespace

size_t ValidSequenceLength(std::string_view s, size_t pos) {
  if (static_cast<uint8_t>(s[pos]) < 0x80) return 1;
  bool complete = false;
  const size_t len = MaximalSubpart(s, pos, &complete);
  return complete ? len : 0;
}

char32_t DecodeSequence(std::string_view s, size_t pos, size_t len) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (len == 1) return b0;
  static constexpr uint8_t kLeadMask[5] = {0, 0, 0x1F, 0x0F, 0x07};
  char32_t cp = b0 & kLeadMask[len];
  for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
  return cp;
}

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<uint8_t>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t len = ValidSequenceLength(s, pos);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendLossyUtf8(std::string_view s, std::string* out) {
  size_t pos = 0;
  size_t clean_start = 0;  // start of the run of valid bytes not yet copied
  while (pos < s.size()) {
    if (static_cast<uint8_t>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete = false;
    const size_t len = MaximalSubpart(s, pos, &complete);
    if (!complete) {
      out->append(s.substr(clean_start, pos - clean_start));
      AppendUtf8(kReplacementChar, out);
      clean_start = pos + len;
    }
    pos += len;
  }
  out->append(s.substr(clean_start));
}

size_t IncompleteTailLength(std::string_view s) {
  const size_t max_back = s.size() < 3 ? s.size() : 3;
  for (size_t back = 1; back <= max_back; ++back) {
    const size_t pos = s.size() - back;
    const auto b = static_cast<uint8_t>(s[pos]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: look further back for its lead
    bool complete = false;
    const size_t len = MaximalSubpart(s, pos, &complete);
    return (!complete && len == back && LeadLength(b) > 1) ? back : 0;
  }
  return 0;
}

}  // namespace ts::text
