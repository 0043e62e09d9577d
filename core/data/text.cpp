// text:NAME[:T] - character-level language modelling on an offline corpus. NAME is "fortunes"
// (Debian's fortunes package, /usr/share/games/fortunes, which scripts/setup.sh installs: about
// 2.6 MB of English quotations, poems and jokes) or the path of a text file or of a folder of
// them. The text becomes ids of a fixed 96-symbol vocabulary - 0 for a newline, 1..95 for the
// printable ASCII characters 32..126 - so every corpus and every model agree on it; a tab reads
// as a space and other bytes (carriage returns, backspaces, non-ASCII) are dropped. The stream is
// cut into consecutive windows of T + 1 characters (default T = 64): inputs are the first T,
// targets the last T (the next character at every position), so a model's outputs are N x T x
// 96. Every tenth window is a test sample, the others train: both splits draw from every file.
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/parse.h"
#include "data/readers.h"

namespace fs = std::filesystem;

namespace rebasin::data::detail {
namespace {

constexpr const char* kFortunesDir = "/usr/share/games/fortunes";
constexpr std::int64_t kVocab = 96;

// The corpus' files in a fixed order: a file, or a folder's regular files (sorted; fortune's
// index files *.dat and its UTF-8 links *.u8 left out).
std::vector<fs::path> corpus_files(const fs::path& root) {
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) return {root};
  std::vector<fs::path> files;
  if (!fs::is_directory(root, ec)) return files;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file(ec) && ext != ".dat" && ext != ".u8") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void append_ids(const fs::path& file, std::vector<std::int64_t>& ids) {
  std::ifstream in(file, std::ios::binary);
  require(in.good(), "text: cannot read " + file.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') ids.push_back(0);
    else if (c == '\t') ids.push_back(' ' - 31);
    else if (c >= 32 && c <= 126) ids.push_back(c - 31);
  }
}

Dataset windows(const std::vector<std::int64_t>& ids, std::int64_t context, bool test) {
  const std::int64_t count = (static_cast<std::int64_t>(ids.size()) - 1) / context;
  std::vector<std::int64_t> picked;
  for (std::int64_t w = 0; w < count; ++w)
    if ((w % 10 == 9) == test) picked.push_back(w);
  Dataset d;
  d.inputs = at::empty({static_cast<std::int64_t>(picked.size()), context}, at::kLong);
  d.targets = at::empty_like(d.inputs);
  auto in = d.inputs.accessor<std::int64_t, 2>();
  auto out = d.targets.accessor<std::int64_t, 2>();
  for (std::size_t r = 0; r < picked.size(); ++r)
    for (std::int64_t t = 0; t < context; ++t) {
      in[r][t] = ids[picked[r] * context + t];
      out[r][t] = ids[picked[r] * context + t + 1];
    }
  d.num_classes = kVocab;
  return d;
}

}  // namespace

Splits read_text(const std::string& spec, const std::string& data_dir) {
  std::string name = spec.substr(5);
  std::int64_t context = 64;
  if (const auto colon = name.rfind(':'); colon != std::string::npos) {
    const auto t = parse_int(name.substr(colon + 1), 1, 1 << 16);
    if (t) {
      context = *t;
      name.resize(colon);
    }
  }
  require(!name.empty(), "text needs a corpus: text:fortunes or text:PATH (a text file or a folder), "
                         "optionally :T for the context length (default 64)");
  fs::path root = name;
  std::string hint = "no such file or folder";
  if (name == "fortunes") {
    // An explicit --data-dir is the only place searched, as for the other sets.
    root = data_dir.empty() ? fs::path(kFortunesDir) : fs::path(data_dir) / "fortunes";
    hint = "run scripts/setup.sh (Debian package fortunes)";
  }
  const std::vector<fs::path> files = corpus_files(root);
  require(!files.empty(), "text:" + name + ": no text files in " + root.string() + "; " + hint);
  std::vector<std::int64_t> ids;
  for (const auto& f : files) append_ids(f, ids);
  require(static_cast<std::int64_t>(ids.size()) > 10 * context + 1,
          "text:" + name + ": " + std::to_string(ids.size()) + " characters are too few for ten windows of " +
              std::to_string(context + 1));
  return {windows(ids, context, false), windows(ids, context, true)};
}

}  // namespace rebasin::data::detail
