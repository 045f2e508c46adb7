// Thread settings: OpenBLAS runs on one thread, except under BlasPoolForLargeProducts for
// graphs with large matrix products.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <thread>

#include "chop/models/zoo.h"
#include "chop/runtime/module.h"

using namespace chop;

TEST(Threads, OpenBlasPoolOnlyForLargeProducts) {
  using GetThreads = int (*)();
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  runtime::set_threads(1);
  if (get) {
    EXPECT_EQ(get(), 1) << "set_threads keeps OpenBLAS on one thread";
  }
  const auto jsc = models::build_model("jsc-s");
  const auto fmnist = models::build_model(
      "mlp", models::ModelOptions().with_input_shape({1, 28, 28}).with_num_classes(10).with_hidden({256, 128}));
  {
    const runtime::BlasPoolForLargeProducts small(jsc, 256);
    EXPECT_FALSE(small.active()) << "256 x 64 x 64 products: the pool would only spin";
  }
  const bool can = get && std::thread::hardware_concurrency() > 1;
  {
    const runtime::BlasPoolForLargeProducts large(fmnist, 128);  // 128 x 784 x 256
    EXPECT_EQ(large.active(), can);
    if (can) {
      EXPECT_EQ(get(), static_cast<int>(std::thread::hardware_concurrency()));
    }
    const runtime::BlasPoolForLargeProducts tiny_batch(fmnist, 1);
    EXPECT_FALSE(tiny_batch.active());
  }
  if (get) {
    EXPECT_EQ(get(), 1) << "restored";
  }
  runtime::set_threads(2);
  {
    const runtime::BlasPoolForLargeProducts large(fmnist, 128);
    EXPECT_FALSE(large.active()) << "two LibTorch threads already use the cores";
  }
  runtime::set_threads(1);
}
