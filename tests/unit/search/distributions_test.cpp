// Unit tests of distributions: validation messages, internal encoding, JSON round trips.
#include "chop/search/distributions.h"
#include "chop/support/error.h"

#include <gtest/gtest.h>

namespace chop::search {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Distribution, ValidationStatesRuleAndValues) {
  EXPECT_EQ(message_of([] { Distribution::float_range(0.5, 0.1); }),
            "`low <= high` must hold, but got low=0.5, high=0.1");
  EXPECT_NE(message_of([] { Distribution::float_range(0.0, 1.0, true); }).find("low > 0"), std::string::npos);
  EXPECT_NE(message_of([] { Distribution::float_range(0.1, 1.0, true, 0.1); }).find("`step` and `log`"),
            std::string::npos);
  EXPECT_NE(message_of([] { Distribution::int_range(3, 1); }).find("low=3, high=1"), std::string::npos);
  EXPECT_NE(message_of([] { Distribution::int_range(1, 10, false, 0); }).find("step >= 1"), std::string::npos);
  EXPECT_NE(message_of([] { Distribution::int_range(1, 10, true, 2); }).find("step == 1"), std::string::npos);
  EXPECT_NE(message_of([] { Distribution::categorical({}); }).find("at least one"), std::string::npos);
  EXPECT_NE(message_of([] { Distribution::categorical({int64_t{1}, int64_t{1}}); }).find("distinct"),
            std::string::npos);
}

TEST(Distribution, StepLowersHighLikeOptuna) {
  EXPECT_DOUBLE_EQ(Distribution::float_range(0.0, 1.0, false, 0.3).high, 0.8999999999999999);
  EXPECT_EQ(Distribution::int_range(0, 10, false, 3).high, 9.0);
  EXPECT_EQ(Distribution::int_range(0, 10, false, 3).n_values(), 4);
  EXPECT_EQ(Distribution::float_range(0.0, 1.0).n_values(), -1);
}

TEST(Distribution, InternalRepresentation) {
  const auto c = Distribution::categorical({std::string("relu"), int64_t{3}, 0.5, true});
  EXPECT_EQ(c.to_internal(std::string("relu")), 0.0);
  EXPECT_EQ(c.to_internal(int64_t{3}), 1.0);
  EXPECT_EQ(c.to_internal(true), 3.0);
  EXPECT_EQ(std::get<double>(c.to_external(2.0)), 0.5);
  EXPECT_THROW(c.to_internal(std::string("tanh")), ConfigError);

  const auto i = Distribution::int_range(1, 64, false, 1);
  EXPECT_EQ(std::get<int64_t>(i.to_external(17.0)), 17);
  EXPECT_TRUE(i.contains(64.0));
  EXPECT_FALSE(i.contains(64.5));
  EXPECT_FALSE(i.contains(0.0));
  EXPECT_EQ(i.snap(63.7), 64.0);
  EXPECT_EQ(i.snap(100.0), 64.0);

  const auto f = Distribution::float_range(0.0, 1.0, false, 0.25);
  EXPECT_TRUE(f.contains(0.75));
  EXPECT_FALSE(f.contains(0.7));
  EXPECT_EQ(f.internal_at(3), 0.75);
}

TEST(Distribution, JsonRoundTripUsesOptunaNames) {
  const std::vector<Distribution> all = {
      Distribution::float_range(1e-4, 1.0, true), Distribution::float_range(0.0, 1.0, false, 0.5),
      Distribution::int_range(1, 64), Distribution::int_range(2, 20, false, 2),
      Distribution::categorical({std::string("a"), int64_t{2}, 3.5, false})};
  for (const auto& d : all) EXPECT_EQ(Distribution::from_json(d.to_json()), d) << d.to_string();
  EXPECT_EQ(all[0].to_json()["name"], "FloatDistribution");
  EXPECT_EQ(all[2].to_json()["attributes"]["step"], 1);
  EXPECT_EQ(all[4].to_json()["name"], "CategoricalDistribution");
  EXPECT_THROW(Distribution::from_json({{"name", "Uniform"}, {"attributes", nlohmann::json::object()}}),
               ConfigError);
}

}  // namespace
}  // namespace chop::search
