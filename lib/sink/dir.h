/* sink/dir: what a run does with an output directory an earlier run wrote.
 *
 * Loom's files in a directory are streams.jsonl, messages.jsonl,
 * http.gor, packets.pcap (each also as rotated parts "NAME_N.EXT" and
 * with ".gz"), stats.json and run.json. Files renamed by logrotate
 * ("messages.jsonl.1") are not Loom's any more and are left alone.
 *
 *   refuse   (default) any of Loom's files there: refuse the run, naming
 *            the directory, what is in it and the way out
 *   append   keep them; JSON Lines, .gor and pcap files are continued,
 *            rotated outputs start a new part after the highest one;
 *            stats.json and run.json describe the new run
 *   rotate   move them into DIR/run-YYYYmmddTHHMMSSZ/ (the time the
 *            earlier run last wrote), then start afresh
 *   replace  remove them, then start afresh (the old behaviour)
 *
 * Control path only, before the sink opens anything; no thread.
 */
#pragma once

#include <string>
#include <vector>

namespace sink {

enum class Existing { kRefuse, kAppend, kRotate, kReplace };

const char* existing_name(Existing e) noexcept;

/* True when `name` (a file name, no directory) is one of Loom's outputs. */
bool is_loom_file(const std::string& name);

/* Loom's files in `dir`, sorted. */
std::vector<std::string> loom_files(const std::string& dir);

/* Applies the policy to `dir` (which exists). Returns "" when the run may
 * go on, else the sentence to print. `*moved_to` gets the directory
 * "rotate" moved the earlier files into ("" otherwise). */
std::string prepare_dir(const std::string& dir, Existing policy, std::string* moved_to = nullptr);

}  // namespace sink
