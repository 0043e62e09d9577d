// Runs the project's executables as a user would and captures what they printed: the rebasin
// CLI (path from the REBASIN_CLI_PATH compile definition) for the tst_cli_* tests, and any
// other program (rebasin-studio, rebasin-plot) by path, offscreen.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QProcess>
#include <QStringList>

namespace rebasin::test {

struct CliRun {
  int code = -1;  // exit code; -1 timed out, -2 crashed
  QByteArray out, err;
};

inline CliRun run_program(const QString& program, const QStringList& args, int timeout_ms = 300000) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  p.setProcessEnvironment(env);
  p.start(program, args);
  CliRun r;
  if (!p.waitForFinished(timeout_ms)) return r;
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

#ifdef REBASIN_CLI_PATH
inline CliRun run_cli(const QStringList& args, int timeout_ms = 300000) {
  return run_program(QStringLiteral(REBASIN_CLI_PATH), args, timeout_ms);
}
#endif

// The first n bytes of a file (empty when it cannot be read): magic numbers, headers.
inline QByteArray file_head(const QString& path, qint64 n) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.read(n) : QByteArray();
}

}  // namespace rebasin::test
