// The GPT-2 byte-to-unicode table used by ByteLevel pre-tokenizers and decoders: every byte
// maps to one printable code point (printable Latin-1 bytes to themselves, the rest to
// U+0100..U+0143), so vocabulary entries of byte-level BPE models are strings of these code
// points. The tokenizer works on raw bytes internally and uses this table only to translate
// tokenizer.json's vocabulary and merges, and to decode tokens that are not added tokens.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ts::text {

// Code point standing for byte b.
char32_t ByteToCodePoint(uint8_t b);

// Byte a code point stands for, if it is one of the 256 table entries.
std::optional<uint8_t> CodePointToByte(char32_t cp);

// Translates a byte-level vocabulary string into the raw bytes it stands for; nullopt when it
// holds a code point outside the table (such entries can never be produced by byte-level
// pre-tokenization). REQUIRES: token is valid UTF-8.
std::optional<std::string> ByteLevelToBytes(std::string_view token);

}  // namespace ts::text
