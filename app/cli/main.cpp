// rebasin: every Rebasin Studio job, headless. Exit 0 on success, 1 on a user error (one line
// on stderr), 2 on an internal error.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bench_commands.h"
#include "continual_command.h"
#include "info_command.h"
#include "lmc_commands.h"
#include "align_command.h"
#include "merge_command.h"
#include "recover_command.h"
#include "train_command.h"
#include "common/error.h"

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// CLI11 answers a mistyped command with "A subcommand is required"; say what was wrong instead,
// naming the nearest command (or all of them when none is close). "" when the words name
// commands (or stop at an option or at a command that takes arguments).
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* cur = &app;
  std::string path = "rebasin";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return {};
    const std::vector<CLI::App*> subs = cur->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return {};
    const auto it = std::find_if(subs.begin(), subs.end(), [&](CLI::App* s) { return s->check_name(word); });
    if (it != subs.end()) {
      cur = *it;
      path += " " + (*it)->get_name();
      continue;
    }
    std::vector<std::string> names;
    for (CLI::App* s : subs) names.push_back(s->get_name());
    std::sort(names.begin(), names.end());
    std::string nearest;
    std::size_t best = std::string::npos;
    for (const std::string& n : names)
      if (const std::size_t d = edit_distance(word, n); d < best) best = d, nearest = n;
    std::string msg = "unknown command '" + word + "'";
    if (path != "rebasin") msg += " for '" + path + "'";
    if (best <= std::max<std::size_t>(2, word.size() / 3)) return msg + "; did you mean '" + nearest + "'?";
    std::string all;
    for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
    return msg + " (commands: " + all + ")";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rebasin - align neural networks by permutation (Sinkhorn re-basin), headless",
               "rebasin"};
  app.set_version_flag("--version", std::string("rebasin ") + REBASIN_VERSION);
  app.require_subcommand(1);
  app.footer("Every command takes --json. Run 'rebasin COMMAND --help' for its options.");
  rebasin::cli::add_bench_commands(app);
  rebasin::cli::add_info_command(app);
  rebasin::cli::add_train_command(app);
  rebasin::cli::add_lmc_commands(app);
  rebasin::cli::add_recover_command(app);
  rebasin::cli::add_align_command(app);
  rebasin::cli::add_merge_command(app);
  rebasin::cli::add_continual_command(app);
  if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::cerr << "rebasin: error: " << unknown << " (see rebasin --help)" << std::endl;
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "rebasin: error: " << first_line(e.what()) << " (see rebasin --help)"
              << std::endl;
    return 1;
  } catch (const rebasin::UserError& e) {
    std::cerr << "rebasin: error: " << first_line(e.what()) << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "rebasin: internal error: " << first_line(e.what_without_backtrace())
              << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "rebasin: internal error: " << first_line(e.what()) << std::endl;
    return 2;
  }
  return 0;
}
