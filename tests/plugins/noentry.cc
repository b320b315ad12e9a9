// Fixture: a perfectly valid shared library that is not an arbor plugin. It exports an ordinary
// function (default visibility) but no arbor_plugin_v<N> entry point, so the loader must refuse
// it with "no arbor entry point".
extern "C" __attribute__((visibility("default"))) int arbor_noentry_answer(int x) {
  return x + 42;
}
