/* ctl/json: a minimal streaming JSON writer for stats.json and friends.
 * Keys come out in the order written, so identical counters give
 * byte-identical files. Control path only.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ctl {

class JsonWriter {
 public:
  JsonWriter& begin_object(std::string_view key = {});
  JsonWriter& end_object();
  JsonWriter& begin_array(std::string_view key = {});
  JsonWriter& end_array();
  JsonWriter& kv(std::string_view key, uint64_t v);
  JsonWriter& kv(std::string_view key, std::string_view v);
  JsonWriter& kv_double(std::string_view key, double v);
  JsonWriter& value(uint64_t v);
  const std::string& str() const { return out_; }

  static std::string escape(std::string_view s);

 private:
  void prefix(std::string_view key);
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
};

}  // namespace ctl
