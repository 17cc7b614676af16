// QuickFIX C++'s side of `scripts/bench.sh fix`: the same work the Crossline codec does,
// timed in this process, so neither side pays for the other's process.
//
//   fixbench parse  <iterations> <message, '|' for SOH>   parse a NewOrderSingle
//   fixbench encode <iterations>                          build and serialise an ExecutionReport
//
// Prints "ns_per_op <value>". parse: Message::setString (no data dictionary, as a
// session with UseDataDictionary=N parses) and the five fields an order needs read back;
// encode: the execution report's fields set on a Message and Message::toString.
#include <quickfix/Message.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

static volatile size_t sink;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fixbench parse|encode <iterations> [message]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long iterations = std::atol(argv[2]);
  auto start = std::chrono::steady_clock::now();
  if (mode == "parse" && argc == 4) {
    std::string text = argv[3];
    for (char& c : text) {
      if (c == '|') c = '\x01';
    }
    for (long i = 0; i < iterations; ++i) {
      FIX::Message message;
      message.setString(text, false);
      sink += message.getField(11).size() + message.getField(55).size() +
              message.getField(54).size() + message.getField(38).size() +
              message.getField(44).size();
    }
  } else if (mode == "encode") {
    for (long i = 0; i < iterations; ++i) {
      FIX::Message message;
      FIX::Header& header = message.getHeader();
      header.setField(8, "FIX.4.4");
      header.setField(35, "8");
      header.setField(49, "CROSSLINE");
      header.setField(56, "OMS1");
      header.setField(34, std::to_string(i + 1));
      header.setField(52, "20261205-14:30:00.000123");
      message.setField(1, "5");
      message.setField(37, "3");
      message.setField(11, "B-2");
      message.setField(17, "3.2");
      message.setField(150, "F");
      message.setField(39, "2");
      message.setField(55, "AAPL");
      message.setField(54, "1");
      message.setField(38, "100");
      message.setField(40, "2");
      message.setField(44, "190");
      message.setField(59, "0");
      message.setField(32, "100");
      message.setField(31, "190.005");
      message.setField(29, "4");
      message.setField(30, "XCRL");
      message.setField(851, "2");
      message.setField(20001, "0.005");
      message.setField(151, "0");
      message.setField(14, "100");
      message.setField(6, "190.005");
      message.setField(60, "20261205-14:30:00.000123");
      sink += message.toString().size();
    }
  } else {
    std::fprintf(stderr, "usage: fixbench parse|encode <iterations> [message]\n");
    return 2;
  }
  auto elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  std::printf("ns_per_op %.2f\n", elapsed.count() / iterations);
  return 0;
}
