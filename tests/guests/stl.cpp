// stl.cpp — C++17 and its standard library under zvm (tests/e2e/sjlj.sh
// checks the output against the same program built natively with
// libc++): containers, algorithms, strings and streams, smart pointers,
// std::function, optional/variant, and a setjmp/longjmp through C++
// frames without destructors (C++ exceptions are not available: zvm-c++
// builds with -fno-exceptions, see README).
#include <algorithm>
#include <csetjmp>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct Square : Shape {
    double s;
    explicit Square(double s) : s(s) {}
    double area() const override { return s * s; }
    std::string name() const override { return "square"; }
};
struct Circle : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    double area() const override { return 3.141592653589793 * r * r; }
    std::string name() const override { return "circle"; }
};

static std::jmp_buf escape;
static void visit(int depth) {
    if (depth == 0)
        std::longjmp(escape, 17);
    visit(depth - 1);
}

int main() {
    std::vector<int> v;
    for (int i = 0; i < 40; i++)
        v.push_back((i * 7919) % 97);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::cout << "unique " << v.size() << " sum " << std::accumulate(v.begin(), v.end(), 0)
              << " median " << v[v.size() / 2] << '\n';

    std::map<std::string, int> words;
    std::istringstream text("the quick brown fox jumps over the lazy dog the end");
    for (std::string w; text >> w;)
        words[w]++;
    for (const auto &[w, n] : words)
        std::cout << w << ':' << n << ' ';
    std::cout << '\n';

    std::unordered_map<int, std::string> squares;
    for (int i = 0; i < 10; i++)
        squares[i * i] = std::to_string(i);
    std::set<int> keys;
    for (const auto &kv : squares)
        keys.insert(kv.first);
    for (int k : keys)
        std::cout << k << '=' << squares[k] << ' ';
    std::cout << '\n';

    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Square>(2.5));
    shapes.push_back(std::make_unique<Circle>(1.25));
    std::sort(shapes.begin(), shapes.end(),
              [](const auto &a, const auto &b) { return a->area() < b->area(); });
    for (const auto &s : shapes)
        std::cout << s->name() << ' ' << std::fixed << std::setprecision(4) << s->area() << '\n';

    std::function<long long(int)> fact = [&](int n) { return n <= 1 ? 1LL : n * fact(n - 1); };
    std::optional<int> none, some = 41;
    std::variant<int, std::string> var = std::string("variant");
    std::cout << "fact(15) " << fact(15) << " optional " << none.value_or(-1) << ' '
              << some.value_or(-1) + 1 << ' ' << std::get<std::string>(var) << '\n';

    std::ostringstream hex;
    hex << std::hex << std::setw(8) << std::setfill('0') << 0xbeef << ' ' << std::scientific
        << 12345.678;
    std::cout << hex.str() << '\n';

    int r = setjmp(escape);
    if (r == 0)
        visit(100);
    std::cout << "longjmp through C++ frames: " << r << std::endl;
    return 0;
}
