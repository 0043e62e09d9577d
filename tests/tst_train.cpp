// Training: learns real data (digits), is deterministic for a seed, fits regression (poly),
// stops on cancel, and rejects data that does not fit the model.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include "common/cancel.h"
#include "common/error.h"
#include "common/runtime.h"
#include "data/dataset.h"
#include "eval/evaluate.h"
#include "nn/architecture.h"
#include "train/train.h"

using namespace rebasin;

class TestTrain : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(2);
    digits_ = data::load_dataset("digits");
  }

  void learnsDigitsDeterministically() {
    const auto arch = nn::make_architecture("mlp:64,32,10");
    train::TrainOptions o;
    o.epochs = 8;
    o.batch_size = 32;
    o.seed = 3;
    int reports = 0;
    const train::TrainResult a = train::train(*arch, digits_, o, [&](const train::EpochReport& r) {
      ++reports;
      QCOMPARE(r.epoch, reports);
      QVERIFY(r.eta_seconds >= 0);
    });
    QCOMPARE(reports, 8);
    QVERIFY2(a.test.accuracy > 0.85, qPrintable(QString::number(a.test.accuracy)));
    QVERIFY(a.epochs.back().train_loss < a.epochs.front().train_loss);
    // The reported metrics are the model's.
    QCOMPARE(eval::evaluate(*arch, a.params, digits_.test).accuracy, a.test.accuracy);
    const train::TrainResult b = train::train(*arch, digits_, o);
    for (std::size_t i = 0; i < a.params.size(); ++i) QVERIFY(at::equal(a.params[i].tensor, b.params[i].tensor));
    o.seed = 4;
    const train::TrainResult c = train::train(*arch, digits_, o);
    QVERIFY(!at::equal(a.params[0].tensor, c.params[0].tensor));
  }

  void convolutionalWithBatchNorm() {
    const auto arch = nn::make_architecture("vgg:8,M,16:bn", nn::ModelIO{{1, 8, 8}, 10});
    train::TrainOptions o;
    o.epochs = 3;
    o.batch_size = 64;
    const train::TrainResult r = train::train(*arch, digits_, o);
    QVERIFY2(r.test.accuracy > 0.8, qPrintable(QString::number(r.test.accuracy)));
    // BatchNorm statistics were tracked during training.
    for (const auto& p : r.params)
      if (p.name == "features.1.num_batches_tracked") QVERIFY(p.tensor.item<int64_t>() > 0);
  }

  void regression() {
    const data::Splits poly = data::load_dataset("poly2");
    const auto arch = nn::make_architecture("mlp:1,32,32,1:tanh");
    train::TrainOptions o;
    o.epochs = 30;
    o.batch_size = 50;
    o.lr = 1e-2;
    const train::TrainResult r = train::train(*arch, poly, o);
    QVERIFY(std::isnan(r.test.accuracy));
    QVERIFY2(r.test.loss < 5e-3, qPrintable(QString::number(r.test.loss)));
  }

  void cancel() {
    CancelToken token;
    token.cancel();
    const auto arch = nn::make_architecture("mlp:64,32,10");
    QVERIFY_THROWS_EXCEPTION(Cancelled, train::train(*arch, digits_, {}, {}, &token));
  }

  void dataMustFit() {
    train::TrainOptions o;
    o.epochs = 1;
    QVERIFY_THROWS_EXCEPTION(UserError, train::train(*nn::make_architecture("mlp:64,32,5"), digits_, o));
    QVERIFY_THROWS_EXCEPTION(UserError, train::train(*nn::make_architecture("mlp:784,32,10"), digits_, o));
    o.epochs = 0;
    QVERIFY_THROWS_EXCEPTION(UserError, train::train(*nn::make_architecture("mlp:64,32,10"), digits_, o));
  }

 private:
  data::Splits digits_;
};

QTEST_APPLESS_MAIN(TestTrain)
#include "tst_train.moc"
