// SHA-256 against FIPS 180-4's published examples and against lengths around the padding's block
// boundaries (digests from Python's hashlib, an independent implementation).
#include "gpusoak/harness/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

#include "gpusoak/harness/build_info.hpp"

namespace gpusoak::harness {
namespace {

// checks the digests NIST publishes for FIPS 180-4 (one block, two blocks, a million 'a') and the empty string
TEST(Sha256, PublishedVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopq"
                       "rsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// checks lengths where the padding needs one block or two (55/56, 63/64/65, 119/120, 128 bytes) and every byte value
TEST(Sha256, PaddingBoundaries) {
  const std::pair<std::size_t, const char*> cases[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
      {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
  };
  for (const auto& [n, digest] : cases) EXPECT_EQ(sha256_hex(std::string(n, 'a')), digest) << n << " bytes";
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(sha256_hex(all), "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880");
}

// checks that the build names its version and a commit that is a git description or "unknown", never a path
TEST(BuildInfo, VersionAndCommit) {
  EXPECT_FALSE(gpusoak_version().empty());
  const std::string commit(gpusoak_commit());
  ASSERT_FALSE(commit.empty());
  EXPECT_EQ(commit.find('/'), std::string::npos) << commit;
  EXPECT_EQ(commit.find(' '), std::string::npos) << commit;
}

}  // namespace
}  // namespace gpusoak::harness
