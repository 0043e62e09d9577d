// The studio's Models dock on TorchScript models (any PyTorch model, core/nn/graph): the
// inspection derives the groups from the graph and shows head structure, and a state dict
// that fits no built-in says so instead of failing silently.
#include <QtTest/QtTest>

#include "app/studio/jobs.h"
#include "common/runtime.h"

using namespace rebasin;

class TestStudioModels : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }

  void torchScriptModelShowsDerivedGroups() {
    const studio::ModelInfo info = studio::inspectModel(QStringLiteral(REBASIN_MODEL_FIXTURES "/vit.ts.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QCOMPARE(info.format, QString("torchscript"));
    QVERIFY2(info.arch.contains("TorchScript graph"), qPrintable(info.arch));
    QCOMPARE(info.groups.size(), 7);
    int heads = 0;
    for (const auto& g : info.groups) heads += g.name.contains("4 heads x 8");
    QCOMPARE(heads, 4);
    QVERIFY(info.dropped.isEmpty());
  }

  void graphOfOtherModelsToo() {
    const studio::ModelInfo info = studio::inspectModel(QStringLiteral(REBASIN_MODEL_FIXTURES "/residual_cnn.ts.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QCOMPARE(info.groups.size(), 4);
  }
};

QTEST_GUILESS_MAIN(TestStudioModels)
#include "tst_studio_models.moc"
