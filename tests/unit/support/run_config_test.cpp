// Run settings: default < TOML top-level key < explicit flag; bad keys and values.
#include <gtest/gtest.h>

#include "chop/support/error.h"
#include "chop/support/run_config.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"
#include "chop/support/toml.h"

using namespace chop;

TEST(RunConfig, PrecedenceDefaultTomlFlag) {
  auto toml = parse_toml("model = 'jsc-tiny'\nbatch_size = 512\nlearning_rate = 0.01\n"
                         "max_epochs = 3\n[search]\nx = 1\n", "c.toml");
  RunConfig c;
  c.batch_size = 64;  // given as a flag
  apply_toml(c, toml, {"batch_size"});
  EXPECT_EQ(c.batch_size, 64);          // flag wins
  EXPECT_EQ(c.model, "jsc-tiny");       // TOML beats default
  EXPECT_DOUBLE_EQ(c.learning_rate, 0.01);
  EXPECT_EQ(c.max_epochs, 3);
  EXPECT_EQ(c.training_optimizer, "adam");  // default
}

TEST(RunConfig, NaMeansUnset) {
  auto toml = parse_toml("load = 'NA'\nmax_steps = 'NA'\n", "c.toml");
  RunConfig c;
  apply_toml(c, toml, {});
  EXPECT_EQ(c.load, "");
  EXPECT_EQ(c.max_steps, -1);
}

TEST(RunConfig, UnknownKeyAndWrongType) {
  RunConfig c;
  try {
    apply_toml(c, parse_toml("batch_sise = 3\n", "c.toml"), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown top-level key 'batch_sise'; known: batch_size"),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_toml(c, parse_toml("batch_size = 'big'\n", "c.toml"), {}), ConfigError);
  EXPECT_THROW(apply_toml(c, parse_toml("search = 3\n", "c.toml"), {}), ConfigError);
}

TEST(RunConfig, FinalizeChecksValuesAndNamesTheProject) {
  RunConfig c;
  c.model = "mlp";
  c.dataset = "mnist";
  finalize(c);
  EXPECT_EQ(c.project.rfind("mlp_cls_mnist_", 0), 0u);
  RunConfig bad;
  bad.batch_size = 0;
  EXPECT_THROW(finalize(bad), ConfigError);
  RunConfig opt;
  opt.training_optimizer = "lbfgs";
  EXPECT_THROW(finalize(opt), ConfigError);
}

TEST(Toml, KeepsFileOrderAndReportsPosition) {
  auto j = parse_toml("[passes.b]\nx = 1\n[passes.a]\ny = 2\n", "p.toml");
  std::vector<std::string> order;
  for (const auto& [k, v] : j["passes"].items()) order.push_back(k);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
  try {
    parse_toml("a = 1\nb = = 2\n", "p.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("p.toml:2:"), std::string::npos) << e.what();
  }
}

TEST(Strings, NearestFirst) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(nearest_first("jsc-tny", {"vgg7", "jsc-toy", "jsc-tiny"}),
            (std::vector<std::string>{"jsc-tiny", "jsc-toy", "vgg7"}));
}

TEST(Table, AlignsColumns) {
  Table t({"a", "bb"});
  t.add_row({"xyz", "1"});
  EXPECT_EQ(t.render(), "| a   | bb |\n|-----|----|\n| xyz |  1 |\n");
}
