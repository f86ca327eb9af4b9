// Label names of a classifier from config.json: id2label ({"0": "NEGATIVE", ...}), else num_labels with
// transformers' default names LABEL_0, LABEL_1, ...
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tessera/io.h"

namespace tessera::models {

// default_num_labels: how many LABEL_i names when config.json has neither key (0 = none).
std::vector<std::string> read_id2label(const nlohmann::json& j, const io::JsonFields& f, const std::string& source,
                                       int64_t default_num_labels);

}  // namespace tessera::models
