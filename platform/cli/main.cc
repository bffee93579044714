#include <cstdio>

int main() {
  std::fprintf(stderr, "estelik: not built yet\n");
  return 1;
}
