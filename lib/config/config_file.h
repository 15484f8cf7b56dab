// Loads the gateway's config file (protobuf text format, schema in config.proto) into
// GatewayOptions. Only fields present in the file change `options`.
//
// Example:
//   GatewayOptions options;
//   CFS_RETURN_IF_ERROR(LoadConfigFile("/etc/cfs/gateway.conf", &options));

#ifndef CFS_LIB_CONFIG_CONFIG_FILE_H_
#define CFS_LIB_CONFIG_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/common/logging.h"
#include "lib/gateway/gateway_options.h"

namespace cfs::config {

// Errors: kNotFound (no such file), kInvalidArgument (syntax error with line and column, or a
// bad value naming the field).
absl::Status LoadConfigFile(const std::string& path, gateway::GatewayOptions* options,
                            LogLevel* log_level);

// The same from text already read.
absl::Status ParseConfigText(const std::string& text, gateway::GatewayOptions* options,
                             LogLevel* log_level);

// The live exports, users (with their S3 secrets and NT hashes), groups and quotas in the config
// file's format: the control plane's state file. ParseConfigText reads it back.
std::string FormatStateText(const std::vector<auth::Export>& exports,
                            const std::vector<auth::User>& users,
                            const std::vector<auth::Group>& groups,
                            const std::vector<quota::QuotaSetting>& quotas);

}  // namespace cfs::config

#endif  // CFS_LIB_CONFIG_CONFIG_FILE_H_
