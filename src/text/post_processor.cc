#include "text/post_processor.h"

#include <nlohmann/json.hpp>

namespace ts::text {
namespace {

using json = nlohmann::json;

// Reads the "single" template: special tokens around exactly one $A sequence.
Status ParseTemplate(const json& config, std::vector<int32_t>* prefix,
                     std::vector<int32_t>* suffix) {
  const json& special_tokens = config.at("special_tokens");
  bool seen_sequence = false;
  for (const json& item : config.at("single")) {
    if (item.contains("Sequence")) {
      if (seen_sequence) return Unimplemented("a template with the sequence twice");
      seen_sequence = true;
      continue;
    }
    const std::string name = item.at("SpecialToken").at("id").get<std::string>();
    if (!special_tokens.contains(name)) {
      return InvalidArgument("template special token missing from special_tokens: " + name);
    }
    for (const json& id : special_tokens.at(name).at("ids")) {
      (seen_sequence ? suffix : prefix)->push_back(id.get<int32_t>());
    }
  }
  if (!seen_sequence) return InvalidArgument("template without $A");
  return Status::Ok();
}

Status AddProcessor(const json& config, std::vector<int32_t>* prefix,
                    std::vector<int32_t>* suffix) {
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& child : config.at("processors")) {
      RETURN_IF_ERROR(AddProcessor(child, prefix, suffix));
    }
  } else if (type == "TemplateProcessing") {
    std::vector<int32_t> p;
    std::vector<int32_t> s;
    RETURN_IF_ERROR(ParseTemplate(config, &p, &s));
    prefix->insert(prefix->begin(), p.begin(), p.end());
    suffix->insert(suffix->end(), s.begin(), s.end());
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    prefix->insert(prefix->begin(), config.at("cls").at(1).get<int32_t>());
    suffix->push_back(config.at("sep").at(1).get<int32_t>());
  } else if (type != "ByteLevel") {
    return Unimplemented("post_processor type " + type);
  }
  return Status::Ok();
}

}  // namespace

Result<PostProcessor> PostProcessor::Create(const nlohmann::json& config) {
  PostProcessor processor;
  if (config.is_null()) return processor;
  try {
    RETURN_IF_ERROR(AddProcessor(config, &processor.prefix_, &processor.suffix_));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("post_processor: ") + e.what());
  }
  return processor;
}

PostProcessor PostProcessor::FromBosEos(std::optional<int32_t> bos_id,
                                        std::optional<int32_t> eos_id) {
  PostProcessor processor;
  if (bos_id) processor.prefix_.push_back(*bos_id);
  if (eos_id) processor.suffix_.push_back(*eos_id);
  return processor;
}

std::vector<int32_t> PostProcessor::Apply(std::vector<int32_t> ids) const {
  if (prefix_.empty() && suffix_.empty()) return ids;
  std::vector<int32_t> out;
  out.reserve(prefix_.size() + ids.size() + suffix_.size());
  out.insert(out.end(), prefix_.begin(), prefix_.end());
  out.insert(out.end(), ids.begin(), ids.end());
  out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

}  // namespace ts::text
