// Fuzz target: any bytes as a JSON schema. Compilation either fails with a Status or yields a
// grammar; a grammar is then walked over the first bytes of the input as text, so the
// recognizer's steps, compaction and keys run on whatever the compiler produced. Never a crash,
// a hang (caps: nodes, depth, DFA states) or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/grammar.h"
#include "engine/json_schema_compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto schema = nlohmann::ordered_json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return 0;
  auto grammar = ts::CompileJsonSchema(schema);
  if (!grammar.ok()) return 0;
  ts::GrammarRecognizer r(grammar->get());
  ts::GrammarRecognizer::State state = r.Start(), next;
  for (size_t i = 0; i < size && i < 256 && !state.empty(); ++i) {
    r.Step(state, data[i], &next);
    if (next.empty()) break;
    state = r.Compact(next);
    r.Key(state);
  }
  return 0;
}
