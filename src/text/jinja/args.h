// ArgReader: binds a call's arguments to a builtin's parameters the way Python does
// (positionally or by keyword), and reports what is left over.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/jinja/value.h"

namespace ts::jinja {

class ArgReader {
 public:
  ArgReader(const CallArgs& args, std::string_view function)
      : args_(args), function_(function), keyword_used_(args.keyword.size(), false) {}

  // The argument at positional `index` or passed as `name`; nullptr when absent.
  const Value* Get(size_t index, std::string_view name) {
    if (index + 1 > num_params_) num_params_ = index + 1;
    if (index < args_.positional.size()) return &args_.positional[index];
    for (size_t i = 0; i < args_.keyword.size(); ++i) {
      if (args_.keyword[i].first == name) {
        keyword_used_[i] = true;
        return &args_.keyword[i].second;
      }
    }
    return nullptr;
  }

  // Fails when arguments were passed that no Get() asked for.
  Status Done() const {
    if (args_.positional.size() > num_params_) {
      return InvalidArgument(std::string(function_) + "() takes at most " +
                             std::to_string(num_params_) + " positional argument(s)");
    }
    for (size_t i = 0; i < args_.keyword.size(); ++i) {
      if (!keyword_used_[i]) {
        return InvalidArgument(std::string(function_) + "() got an unexpected keyword argument '" +
                               args_.keyword[i].first + "'");
      }
    }
    return Status::Ok();
  }

 private:
  const CallArgs& args_;
  std::string_view function_;
  std::vector<bool> keyword_used_;
  size_t num_params_ = 0;
};

}  // namespace ts::jinja
