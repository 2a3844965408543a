// procsnap report: placeholder until the report library lands.
#include "command.h"
#include "common.h"

namespace procsnap {
void SetupReport(CLI::App& sub, CommandAction& action) {
  action = [] { return Fail("report: not built yet"); };
}
}  // namespace procsnap
