// Runs the rebasin CLI (path from the REBASIN_CLI_PATH compile definition) as a user would and
// captures what it printed, for the tst_cli_* tests.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QStringList>

namespace rebasin::test {

struct CliRun {
  int code = -1;  // exit code; -1 timed out, -2 crashed
  QByteArray out, err;
};

inline CliRun run_cli(const QStringList& args, int timeout_ms = 300000) {
  QProcess p;
  p.start(QStringLiteral(REBASIN_CLI_PATH), args);
  CliRun r;
  if (!p.waitForFinished(timeout_ms)) return r;
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

}  // namespace rebasin::test
