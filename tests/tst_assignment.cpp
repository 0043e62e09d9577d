// Exact linear assignment: optimal against brute force for n <= 8 (square and rectangular, with
// ties), against an independent O(n^3) Hungarian method at n = 300, a planted permutation at
// n = 1000, and clear errors for bad input.
#include <QtTest/QtTest>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "common/error.h"
#include "ot/assignment.h"

using rebasin::UserError;
using rebasin::ot::Assignment;
using rebasin::ot::solve_assignment;

namespace {

std::vector<double> random_costs(int m, int n, unsigned seed, bool integer) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> small(0, 3);  // many ties
  std::vector<double> c(static_cast<std::size_t>(m) * n);
  for (double& v : c) v = integer ? small(rng) : normal(rng);
  return c;
}

// Best total over all injective maps of the smaller side into the larger one.
double brute_force(const std::vector<double>& c, int m, int n, bool maximize) {
  const int k = std::min(m, n), big = std::max(m, n);
  std::vector<int> idx(big);
  std::iota(idx.begin(), idx.end(), 0);
  double best = maximize ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
  do {
    double t = 0;
    for (int r = 0; r < k; ++r) t += m <= n ? c[r * n + idx[r]] : c[idx[r] * n + r];
    best = maximize ? std::max(best, t) : std::min(best, t);
  } while (std::next_permutation(idx.begin(), idx.end()));
  return best;
}

// Textbook O(n^3) Hungarian method with potentials (minimisation, square): an independent
// reference for sizes brute force cannot reach.
double hungarian(const std::vector<double>& a, int n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1), v(n + 1);
  std::vector<int> p(n + 1), way(n + 1);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      int i0 = p[j0], j1 = 0;
      double delta = inf;
      for (int j = 1; j <= n; ++j)
        if (!used[j]) {
          const double cur = a[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
          if (cur < minv[j]) minv[j] = cur, way[j] = j0;
          if (minv[j] < delta) delta = minv[j], j1 = j;
        }
      for (int j = 0; j <= n; ++j)
        if (used[j]) u[p[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  double total = 0;
  for (int j = 1; j <= n; ++j) total += a[(p[j] - 1) * n + (j - 1)];
  return total;
}

void check_valid(const Assignment& a, int m, int n) {
  std::vector<char> used(n, 0);
  int assigned = 0;
  for (int i = 0; i < m; ++i) {
    const auto j = a.col_of_row[i];
    if (j < 0) continue;
    QVERIFY(j < n);
    QVERIFY(!used[j]);
    used[j] = 1;
    ++assigned;
  }
  QCOMPARE(assigned, std::min(m, n));
}

}  // namespace

class TestAssignment : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void bruteForce_data() {
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<bool>("integer");
    QTest::addColumn<bool>("maximize");
    for (int n = 1; n <= 8; ++n) {
      QTest::addRow("%dx%d normal", n, n) << n << n << false << false;
      QTest::addRow("%dx%d ties", n, n) << n << n << true << false;
      QTest::addRow("%dx%d max", n, n) << n << n << false << true;
    }
    QTest::newRow("3x5") << 3 << 5 << false << false;
    QTest::newRow("5x3") << 5 << 3 << false << false;
    QTest::newRow("2x7 ties max") << 2 << 7 << true << true;
    QTest::newRow("7x4 ties") << 7 << 4 << true << false;
  }

  void bruteForce() {
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(bool, integer);
    QFETCH(bool, maximize);
    for (unsigned seed = 0; seed < 20; ++seed) {
      const auto c = random_costs(m, n, seed * 31 + m * 7 + n, integer);
      const Assignment a = solve_assignment(c.data(), m, n, maximize);
      check_valid(a, m, n);
      QVERIFY2(std::abs(a.total - brute_force(c, m, n, maximize)) < 1e-9,
               qPrintable(QString("seed %1").arg(seed)));
    }
  }

  void matchesHungarian() {
    const int n = 300;
    for (unsigned seed = 0; seed < 3; ++seed) {
      const auto c = random_costs(n, n, 1000 + seed, seed == 2);
      const Assignment a = solve_assignment(c.data(), n, n);
      check_valid(a, n, n);
      QVERIFY(std::abs(a.total - hungarian(c, n)) < 1e-8);
    }
  }

  void plantedPermutation() {
    const int n = 1000;
    std::mt19937 rng(5);
    std::vector<std::int64_t> planted(n);
    std::iota(planted.begin(), planted.end(), 0);
    std::shuffle(planted.begin(), planted.end(), rng);
    std::normal_distribution<double> noise(0.0, 0.1);
    std::vector<double> score(static_cast<std::size_t>(n) * n);
    for (double& v : score) v = noise(rng);
    for (int i = 0; i < n; ++i) score[i * n + planted[i]] += 1.0;
    const Assignment a = solve_assignment(score.data(), n, n, /*maximize=*/true);
    QVERIFY(a.col_of_row == planted);
  }

  void badInput() {
    std::vector<double> c = {1, 2, 3, 4};
    QVERIFY_THROWS_EXCEPTION(UserError, solve_assignment(c.data(), 0, 2));
    c[2] = std::numeric_limits<double>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(UserError, solve_assignment(c.data(), 2, 2));
    c[2] = std::numeric_limits<double>::infinity();
    QVERIFY_THROWS_EXCEPTION(UserError, solve_assignment(c.data(), 2, 2));
  }
};

QTEST_APPLESS_MAIN(TestAssignment)
#include "tst_assignment.moc"
