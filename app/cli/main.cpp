// rebasin: every Rebasin Studio job, headless. Exit 0 on success, 1 on a user error (one line
// on stderr), 2 on an internal error.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "bench_commands.h"
#include "continual_command.h"
#include "info_command.h"
#include "lmc_commands.h"
#include "align_command.h"
#include "recover_command.h"
#include "train_command.h"
#include "common/error.h"

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

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
  rebasin::cli::add_continual_command(app);
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
