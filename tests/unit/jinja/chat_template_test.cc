// ChatTemplate: finding the template in a model folder or tokenizer_config.json, picking the
// named variant, and passing the special tokens.
#include "text/jinja/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace ts::jinja {
namespace {

using nlohmann::ordered_json;

class ChatTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jinja_chat_template_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  std::filesystem::path dir_;
};

const ordered_json kInputs = ordered_json::parse(
    R"({"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true})");

TEST_F(ChatTemplateTest, StringTemplateAndAddedTokenObjects) {
  ordered_json config = ordered_json::parse(R"({
    "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}",
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
    "eos_token": "</s>"})");
  auto chat = ChatTemplate::FromConfig(config, std::nullopt);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  EXPECT_EQ(chat->bos_token(), "<s>");
  EXPECT_EQ(chat->eos_token(), "</s>");
  EXPECT_EQ(chat->tool_use_template(), nullptr);
  EXPECT_EQ(*chat->Render(kInputs), "<s>[hi]</s>");
  // A request may set the tokens itself.
  ordered_json inputs = kInputs;
  inputs["bos_token"] = "";
  EXPECT_EQ(*chat->Render(inputs), "[hi]</s>");
}

TEST_F(ChatTemplateTest, NamedTemplatesPickToolUseWhenToolsAreGiven) {
  ordered_json config = ordered_json::parse(R"({"chat_template": [
    {"name": "default", "template": "plain"},
    {"name": "tool_use", "template": "tools={{ tools | length }}"}]})");
  auto chat = ChatTemplate::FromConfig(config, std::nullopt);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  ASSERT_NE(chat->tool_use_template(), nullptr);
  EXPECT_EQ(*chat->Render(kInputs), "plain");
  ordered_json with_tools = kInputs;
  with_tools["tools"] = ordered_json::array({ordered_json::object()});
  EXPECT_EQ(*chat->Render(with_tools), "tools=1");
  with_tools["tools"] = nullptr;
  EXPECT_EQ(*chat->Render(with_tools), "plain");
}

TEST_F(ChatTemplateTest, MissingOrBrokenTemplates) {
  EXPECT_EQ(ChatTemplate::FromConfig(ordered_json::object(), std::nullopt).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ChatTemplate::FromConfig(ordered_json::parse(R"({"chat_template": [{"name": 1}]})"),
                                     std::nullopt)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto broken = ChatTemplate::FromConfig(ordered_json{{"chat_template", "{% if %}"}}, std::nullopt);
  EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("line 1, column"), std::string::npos);
  auto chat = ChatTemplate::FromConfig(ordered_json{{"chat_template", "x"}}, std::nullopt);
  ASSERT_TRUE(chat.ok());
  EXPECT_FALSE(chat->Render(ordered_json::array()).ok());
}

TEST_F(ChatTemplateTest, LoadPrefersChatTemplateJinja) {
  Write("tokenizer_config.json", R"({"chat_template": "from config", "eos_token": "<e>"})");
  auto from_config = ChatTemplate::Load(dir_.string());
  ASSERT_TRUE(from_config.ok()) << from_config.status().ToString();
  EXPECT_EQ(*from_config->Render(kInputs), "from config");
  Write("chat_template.jinja", "from file {{ eos_token }}\n");
  auto from_file = ChatTemplate::Load(dir_.string());
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(*from_file->Render(kInputs), "from file <e>");
}

TEST_F(ChatTemplateTest, LoadReportsMissingTemplateAndBadJson) {
  EXPECT_EQ(ChatTemplate::Load(dir_.string()).status().code(), StatusCode::kNotFound);
  Write("tokenizer_config.json", "{not json");
  EXPECT_EQ(ChatTemplate::Load(dir_.string()).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ChatTemplateTest, ForwardsExtraKwargs) {
  auto chat = ChatTemplate::FromConfig(
      ordered_json{{"chat_template",
                    "{% if enable_thinking is defined and enable_thinking is false %}no-think"
                    "{% else %}think{% endif %}"}},
      std::nullopt);
  ASSERT_TRUE(chat.ok());
  ordered_json inputs = kInputs;
  EXPECT_EQ(*chat->Render(inputs), "think");
  inputs["enable_thinking"] = false;
  EXPECT_EQ(*chat->Render(inputs), "no-think");
}

}  // namespace
}  // namespace ts::jinja
