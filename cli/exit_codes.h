// Exit statuses of every procsnap command, as diff(1) uses them.
#pragma once

namespace procsnap {

constexpr int kExitOk = 0;
// cat: the file was captured with an error and has no bytes; diff: differences.
constexpr int kExitDifferent = 1;
// Bad arguments, unreadable or damaged archives, unknown paths.
constexpr int kExitTrouble = 2;

}  // namespace procsnap
