#pragma once
// The EC2 metadata service over HTTP/1.1 with Boost.Beast (keep-alive, per-operation
// timeouts). This header does not include Boost; only adapters/beast_metadata_client.cpp does.

#include <chrono>
#include <memory>
#include <vector>

#include "cloudtwin/agent/ec2.hpp"

namespace cloudtwin::agent {

// Tries the endpoints in order until one accepts a connection, then keeps using it (and
// its connection) until it fails. Every connect, write and read is bounded by `timeout`.
// Throws Error(Io) naming every endpoint tried when none can be reached.
std::unique_ptr<MetadataClient> make_beast_metadata_client(std::vector<MetadataEndpoint> endpoints,
                                                           std::chrono::milliseconds timeout);

}  // namespace cloudtwin::agent
