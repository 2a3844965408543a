// The read policy: which entries capture must not read, and why. One table in
// policy.cpp; every skipped entry keeps its node and the rule's reason.
// It applies to a procfs root only: in a plain folder every file is data.
#pragma once

#include <string_view>

namespace procsnap {

enum class PolicyAction { Read, Skip };

struct PolicyDecision {
  PolicyAction action = PolicyAction::Read;
  const char* reason = nullptr;  // the rule's reason when skipped
};

// `rel` is the path under the capture root, without a leading slash.
PolicyDecision ClassifyPath(std::string_view rel);

}  // namespace procsnap
