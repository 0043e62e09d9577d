// The packaged files cannot go stale: every installed program has a man page documenting every
// command and option its --help lists (and no command that no longer exists), the desktop file
// and the AppStream metainfo name one id, icon and the installed programs, every file names the
// project's version, and the install rules (installed into a temporary prefix, as cpack does)
// put each file where the .deb needs it and nothing else.
#include <QtTest/QtTest>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QHash>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QXmlStreamReader>

namespace {

const QString kAppId = QStringLiteral(REBASIN_APP_ID);
const QString kPackaging = QStringLiteral(REBASIN_SOURCE_ROOT "/packaging");

QByteArray readFile(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

struct Run {
  int code = -1;
  QString out, err;
};

Run runProgram(const QString& program, const QStringList& args) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));  // Qt programs
  p.setProcessEnvironment(env);
  p.start(program, args);
  Run r;
  if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit) return r;
  r.code = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

// Options and subcommands of one --help text: lines of the "Options:" and "Subcommands:"
// blocks. Works for CLI11 ("  -h,--help   Print ...") and QCommandLineParser
// ("  -h, --help   Displays ...") alike: the names stand before the first double space.
struct Help {
  QStringList options, subcommands;
};

Help parseHelp(const QString& text) {
  static const QRegularExpression longOption(QStringLiteral("--[A-Za-z0-9][A-Za-z0-9-]*"));
  Help h;
  QString block;
  for (const QString& line : text.split(QLatin1Char('\n'))) {
    if (!line.startsWith(QLatin1Char(' '))) {
      block = line.trimmed();
      continue;
    }
    const QString names = line.trimmed().section(QStringLiteral("  "), 0, 0);
    if (block == QLatin1String("Options:") && names.startsWith(QLatin1Char('-'))) {
      for (auto it = longOption.globalMatch(names); it.hasNext();) h.options << it.next().captured();
    } else if (block == QLatin1String("Subcommands:") && !names.isEmpty()) {
      h.subcommands << names.section(QLatin1Char(' '), 0, 0);
    }
  }
  return h;
}

// The sections of a man page by heading (.SH / .SS, quotes removed), each with its source text.
QMap<QString, QString> manSections(const QString& source) {
  QMap<QString, QString> sections;
  QString current;
  for (const QString& line : source.split(QLatin1Char('\n'))) {
    if (line.startsWith(QLatin1String(".SH ")) || line.startsWith(QLatin1String(".SS "))) {
      current = line.mid(4).remove(QLatin1Char('"')).trimmed();
      sections[current];
    } else if (!current.isEmpty()) {
      sections[current] += line + QLatin1Char('\n');
    }
  }
  return sections;
}

// troff writes "--batch-size" as "\-\-batch\-size"; a match must not be the prefix of a longer
// option ("\-\-data" inside "\-\-data\-dir").
bool mentionsOption(const QString& troff, const QString& option) {
  const QString escaped = QString(option).replace(QLatin1String("-"), QLatin1String("\\-"));
  for (int at = troff.indexOf(escaped); at >= 0; at = troff.indexOf(escaped, at + 1)) {
    const QString next = troff.mid(at + escaped.size(), 2);
    if (next.isEmpty() || (!next[0].isLetterOrNumber() && next != QLatin1String("\\-")))
      return true;
  }
  return false;
}

// rebasin's --help texts, each asked once: starting LibTorch costs ~0.4 s a run.
Run cliHelp(const QString& path) {
  static QHash<QString, Run> cache;
  if (!cache.contains(path)) {
    QStringList args = path.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    cache[path] = runProgram(QStringLiteral(REBASIN_CLI_PATH), args << QStringLiteral("--help"));
  }
  return cache[path];
}

// Every command path of the CLI ("rebasin", "rebasin bench", "rebasin bench sinkhorn" ...),
// walked through the Subcommands blocks of the help texts.
QStringList cliCommandPaths() {
  QStringList paths, queue{QString()};
  while (!queue.isEmpty()) {
    const QString path = queue.takeFirst();
    const Run r = cliHelp(path);
    if (r.code != 0) return {};
    paths << (QStringLiteral("rebasin ") + path).trimmed();
    for (const QString& sub : parseHelp(r.out).subcommands) queue << (path + QLatin1Char(' ') + sub).trimmed();
  }
  return paths;
}

QString desktopValue(const QString& entry, const QString& key) {
  for (const QString& line : entry.split(QLatin1Char('\n')))
    if (line.startsWith(key + QLatin1Char('='))) return line.mid(key.size() + 1).trimmed();
  return {};
}

// The metainfo's facts the other files must agree with.
struct Metainfo {
  QString id, launchable, icon, firstRelease;
  QSet<QString> binaries;
  bool description = false, contentRating = false;
};

Metainfo readMetainfo(const QByteArray& xml, QString* error) {
  Metainfo m;
  QXmlStreamReader r(xml);
  while (!r.atEnd()) {
    if (r.readNext() != QXmlStreamReader::StartElement) continue;
    const QStringView name = r.name();
    const QString type = r.attributes().value(QLatin1String("type")).toString();
    if (name == QLatin1String("id")) m.id = r.readElementText();
    else if (name == QLatin1String("launchable") && type == QLatin1String("desktop-id")) m.launchable = r.readElementText();
    else if (name == QLatin1String("icon") && type == QLatin1String("stock")) m.icon = r.readElementText();
    else if (name == QLatin1String("binary")) m.binaries << r.readElementText();
    else if (name == QLatin1String("description")) m.description = true;
    else if (name == QLatin1String("content_rating")) m.contentRating = true;
    else if (name == QLatin1String("release") && m.firstRelease.isEmpty())
      m.firstRelease = r.attributes().value(QLatin1String("version")).toString();
  }
  if (r.hasError()) *error = r.errorString();
  return m;
}

}  // namespace

class TestPackaging : public QObject {
  Q_OBJECT

  QTemporaryDir installed_;  // everything the install rules install, as the .deb gets it

  QStringList installedPrograms() const {
    return QDir(installed_.filePath("bin")).entryList(QDir::Files, QDir::Name);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(installed_.isValid());
    const Run r = runProgram(QStringLiteral(REBASIN_CMAKE_COMMAND),
                             {"--install", REBASIN_BUILD_ROOT, "--prefix", installed_.path()});
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  }

  // The installed programs are linked hardened: PIE, full RELRO, immediate binding.
  void programsAreHardened() {
    const QStringList programs = installedPrograms();
    QVERIFY(!programs.isEmpty());
    for (const QString& program : programs) {
      const QString path = installed_.filePath("bin/" + program);
      const Run header = runProgram(QStringLiteral("readelf"), {"-hW", path});
      if (header.code < 0) QSKIP("readelf (binutils) is not installed");
      QVERIFY2(header.out.contains("DYN (Position-Independent Executable"), qPrintable(program + ": not PIE"));
      QVERIFY2(runProgram(QStringLiteral("readelf"), {"-lW", path}).out.contains("GNU_RELRO"),
               qPrintable(program + ": no RELRO segment"));
      const QString dynamic = runProgram(QStringLiteral("readelf"), {"-dW", path}).out;
      QVERIFY2(dynamic.contains("BIND_NOW") || dynamic.contains(QRegularExpression("Flags:.* NOW")),
               qPrintable(program + ": not linked with -z now"));
    }
  }

  // An installed program looks for data where the package and the user put it, never in the
  // source tree of the machine that built it (here: the digits set under <source>/data).
  void installedProgramsIgnoreTheSourceTree() {
    if (!QFile::exists(REBASIN_SOURCE_ROOT "/data/digits/digits.csv.gz"))
      QSKIP("no digits under <source>/data (scripts/setup.sh puts them there)");
    if (QFile::exists("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"))
      QSKIP("digits installed system-wide (python3-sklearn)");
    QTemporaryDir out;
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("REBASIN_DATA_DIR"));
    p.setProcessEnvironment(env);
    p.start(installed_.filePath("bin/rebasin"), {"train", "--arch", "mlp:64,8,10", "--data", "digits", "--epochs",
                                                 "1", "--out", out.filePath("m.safetensors")});
    QVERIFY(p.waitForFinished(120000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 1);
    QVERIFY2(err.contains("digits.csv.gz not found"), qPrintable(err));
    QVERIFY2(!err.contains(REBASIN_SOURCE_ROOT), qPrintable(err));
    QVERIFY(!QFile::exists(out.filePath("m.safetensors")));
  }

  void cliCommandsDocumented_data() {
    QTest::addColumn<QString>("command");
    const QStringList paths = cliCommandPaths();
    QVERIFY2(paths.size() > 1, "rebasin --help (and each command's) must run and list commands");
    for (const QString& path : paths) QTest::newRow(qPrintable(path)) << path;
  }

  // A section .SS "rebasin COMMAND" per command, naming every long option its --help lists
  // (or the page's COMMON OPTIONS do).
  void cliCommandsDocumented() {
    QFETCH(QString, command);
    const auto sections = manSections(QString::fromUtf8(readFile(kPackaging + "/rebasin.1")));
    const QString common = sections.value(QStringLiteral("COMMON OPTIONS"));
    QVERIFY2(!common.isEmpty(), "rebasin.1 has no COMMON OPTIONS section");
    const bool top = command == QLatin1String("rebasin");
    QVERIFY2(top || sections.contains(command),
             qPrintable("rebasin.1 has no section .SS \"" + command + "\""));
    const Run r = cliHelp(command.mid(int(qstrlen("rebasin"))).trimmed());
    QCOMPARE(r.code, 0);
    const QStringList options = parseHelp(r.out).options;
    QVERIFY(options.contains(QLatin1String("--help")));
    for (const QString& option : options) {
      QVERIFY2(mentionsOption(sections.value(command), option) || mentionsOption(common, option),
               qPrintable(command + " " + option + " is not in packaging/rebasin.1"));
    }
  }

  // The other way round: no section for a command the CLI no longer has.
  void noStaleManSections() {
    const QStringList paths = cliCommandPaths();
    QVERIFY(!paths.isEmpty());
    const auto sections = manSections(QString::fromUtf8(readFile(kPackaging + "/rebasin.1")));
    int commands = 0;
    for (const QString& heading : sections.keys()) {
      if (!heading.startsWith(QLatin1String("rebasin "))) continue;
      ++commands;
      QVERIFY2(paths.contains(heading), qPrintable("rebasin.1 documents '" + heading +
                                                   "', which rebasin --help does not list"));
    }
    QCOMPARE(commands, paths.size() - 1);  // every path but the top level has its section
  }

  // Each program the install rules put in bin/ has its man page, installed, naming every long
  // option its --help lists (rebasin's commands are checked above, one by one).
  void programsDocumented_data() {
    QTest::addColumn<QString>("program");
    const QStringList programs = installedPrograms();
    QVERIFY2(programs.contains(QStringLiteral(REBASIN_CLI_NAME)), "rebasin is not installed");
    for (const QString& name : programs) QTest::newRow(qPrintable(name)) << name;
  }

  void programsDocumented() {
    QFETCH(QString, program);
    const QString page = QString::fromUtf8(readFile(kPackaging + "/" + program + ".1"));
    QVERIFY2(!page.isEmpty(), qPrintable("no man page packaging/" + program + ".1"));
    QVERIFY2(QFileInfo::exists(installed_.filePath("share/man/man1/" + program + ".1.gz")),
             qPrintable(program + ".1.gz is not installed (REBASIN_MAN_PAGES in packaging/)"));
    if (program == QLatin1String(REBASIN_CLI_NAME)) return;
    const Run r = runProgram(installed_.filePath("bin/" + program), {QStringLiteral("--help")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList options = parseHelp(r.out).options;
    QVERIFY2(options.contains(QLatin1String("--help")),
             qPrintable("no options in " + program + " --help:\n" + r.out));
    for (const QString& option : options)
      QVERIFY2(mentionsOption(page, option),
               qPrintable(program + " " + option + " is not in packaging/" + program + ".1"));
  }

  // The .deb holds programs and their data only: no test executables, static libraries or
  // headers slip in through an install(TARGETS) rule.
  void installsOnlyProgramsAndData() {
    QDirIterator it(installed_.path(), QDir::Files, QDirIterator::Subdirectories);
    int files = 0;
    while (it.hasNext()) {
      const QString rel = QDir(installed_.path()).relativeFilePath(it.next());
      ++files;
      QVERIFY2(rel.startsWith(QLatin1String("share/")) ||
                   (rel.startsWith(QLatin1String("bin/")) && it.fileInfo().isExecutable()),
               qPrintable("unexpected installed file " + rel));
      QVERIFY2(!rel.startsWith(QLatin1String("bin/tst_")), qPrintable("test installed: " + rel));
    }
    QVERIFY(files > 10);
  }

  // The desktop file, the metainfo and the install rules join on one id; Exec and the provided
  // binaries are the targets' file names.
  void desktopFileMatchesMetainfo() {
    const QString desktop =
        QString::fromUtf8(readFile(kPackaging + "/" + kAppId + ".desktop"));
    QVERIFY2(!desktop.isEmpty(), qPrintable("missing packaging/" + kAppId + ".desktop"));
    QCOMPARE(desktopValue(desktop, "Type"), QStringLiteral("Application"));
    QCOMPARE(desktopValue(desktop, "Icon"), kAppId);
    QCOMPARE(desktopValue(desktop, "Exec").section(QLatin1Char(' '), 0, 0),
             QStringLiteral(REBASIN_STUDIO_NAME));
    QCOMPARE(desktopValue(desktop, "TryExec"), QStringLiteral(REBASIN_STUDIO_NAME));

    QString error;
    const Metainfo m = readMetainfo(readFile(kPackaging + "/" + kAppId + ".metainfo.xml"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(m.id, kAppId);
    QCOMPARE(m.launchable, kAppId + ".desktop");
    QCOMPARE(m.icon, kAppId);
    const QStringList programs = installedPrograms();
    QCOMPARE(m.binaries, QSet<QString>(programs.begin(), programs.end()));
    if (!QStringLiteral(REBASIN_STUDIO_PATH).isEmpty())
      QVERIFY2(programs.contains(QStringLiteral(REBASIN_STUDIO_NAME)), "rebasin-studio is not installed");
    QVERIFY(m.description);
    QVERIFY(m.contentRating);
  }

  void versionsAgree_data() {
    QTest::addColumn<QString>("found");
    QString error;
    QTest::newRow("metainfo newest release")
        << readMetainfo(readFile(kPackaging + "/" + kAppId + ".metainfo.xml"), &error).firstRelease;
    static const QRegularExpression th(QStringLiteral("^\\.TH .*\"Rebasin Studio ([^\"]+)\""),
                                       QRegularExpression::MultilineOption);
    for (const char* page : {"rebasin.1", "rebasin-studio.1"}) {
      const QString text = QString::fromUtf8(readFile(kPackaging + "/" + page));
      QTest::newRow(page) << th.match(text).captured(1);
    }
    static const QRegularExpression head(QStringLiteral("^rebasin-studio \\(([^)]+)\\)"));
    QTest::newRow("changelog") << head.match(QString::fromUtf8(readFile(kPackaging + "/changelog")))
                                      .captured(1);
  }

  void versionsAgree() {
    QFETCH(QString, found);
    QCOMPARE(found, QStringLiteral(REBASIN_VERSION));
  }

  void installedFiles_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("pngSize");  // 0: not a PNG
    QTest::newRow("desktop") << "share/applications/" + kAppId + ".desktop" << 0;
    QTest::newRow("metainfo") << "share/metainfo/" + kAppId + ".metainfo.xml" << 0;
    QTest::newRow("svg") << "share/icons/hicolor/scalable/apps/" + kAppId + ".svg" << 0;
    for (const QString& n : QStringLiteral(REBASIN_ICON_SIZES).split(QLatin1Char(',')))
      QTest::newRow(qPrintable("png " + n))
          << QStringLiteral("share/icons/hicolor/%1x%1/apps/%2.png").arg(n, kAppId) << n.toInt();
    QTest::newRow("copyright") << "share/doc/rebasin-studio/copyright" << 0;
    QTest::newRow("changelog") << "share/doc/rebasin-studio/changelog.gz" << 0;
  }

  void installedFiles() {
    QFETCH(QString, path);
    QFETCH(int, pngSize);
    const QByteArray bytes = readFile(installed_.filePath(path));
    QVERIFY2(!bytes.isEmpty(), qPrintable(path + " was not installed"));
    if (path.endsWith(QLatin1String(".gz"))) QVERIFY(bytes.startsWith("\x1f\x8b"));
    if (path.endsWith(QLatin1String("copyright")))
      QCOMPARE(bytes, readFile(REBASIN_SOURCE_ROOT "/LICENSE"));
    if (pngSize > 0) {
      // PNG: 8-byte signature, then IHDR with big-endian width and height at offsets 16, 20.
      QVERIFY(bytes.size() > 24 && bytes.startsWith("\x89PNG\r\n\x1a\n"));
      const auto be32 = [&](int at) {
        return (uchar(bytes[at]) << 24) | (uchar(bytes[at + 1]) << 16) |
               (uchar(bytes[at + 2]) << 8) | uchar(bytes[at + 3]);
      };
      QCOMPARE(int(be32(16)), pngSize);
      QCOMPARE(int(be32(20)), pngSize);
    }
  }

  void manPagesRender_data() {
    QTest::addColumn<QString>("page");
    for (const QString& page : QDir(kPackaging).entryList({QStringLiteral("*.1")}, QDir::Files))
      QTest::newRow(qPrintable(page)) << kPackaging + "/" + page;
  }

  // groff with every warning on: a typo in a macro shows here, not in a user's terminal.
  void manPagesRender() {
    QFETCH(QString, page);
    if (QStandardPaths::findExecutable(QStringLiteral("groff")).isEmpty())
      QSKIP("groff is not installed");
    const Run r = runProgram(QStringLiteral("groff"), {"-man", "-Tutf8", "-ww", "-z", page});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestPackaging)
#include "tst_packaging.moc"
