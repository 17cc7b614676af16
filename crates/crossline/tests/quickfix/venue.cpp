// A QuickFIX C++ acceptor that plays an exchange for Crossline's router (a venue with
// `protocol = "fix44"`): every NewOrderSingle is acknowledged (ExecType 0) and then
// filled in full at its limit price (or at <market price> for a market order); every
// OrderCancelRequest is answered with a Canceled report. It prints what it receives.
//
//   venue <settings file> <market price>
//
// Output, one line each: LOGON, LOGOUT, APP <message> (SOH shown as '|').
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

static std::mutex output;

static void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(output);
  std::cout << line << std::endl;
}

static std::string visible(std::string text) {
  for (char& c : text) {
    if (c == '\x01') c = '|';
  }
  return text;
}

class Venue : public FIX::Application {
 public:
  explicit Venue(std::string market) : market_(std::move(market)) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override { say("LOGON"); }
  void onLogout(const FIX::SessionID&) override { say("LOGOUT"); }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& message, const FIX::SessionID& session)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
    say("APP " + visible(message.toString()));
    const std::string type = message.getHeader().getField(35);
    if (type == "D") {
      const std::string id = message.getField(11);
      const std::string quantity = message.getField(38);
      const std::string price = message.isSetField(44) ? message.getField(44) : market_;
      const std::string order = "V" + std::to_string(++orders_);
      report(session, message, order, id, "0", "0", quantity, "0", "0", "", "");
      report(session, message, order, id, "F", "2", quantity, quantity, "0", price, quantity);
    } else if (type == "F") {
      FIX::Message canceled = base(message, "V0", message.getField(11), "4", "4");
      canceled.setField(41, message.getField(41));
      canceled.setField(38, "0");
      canceled.setField(14, "0");
      canceled.setField(151, "0");
      canceled.setField(6, "0");
      FIX::Session::sendToTarget(canceled, session);
    }
  }

 private:
  FIX::Message base(const FIX::Message& order, const std::string& order_id, const std::string& id,
                    const std::string& exec_type, const std::string& status) {
    FIX::Message report;
    report.getHeader().setField(35, "8");
    report.setField(37, order_id);
    report.setField(11, id);
    report.setField(17, order_id + "." + exec_type + std::to_string(++executions_));
    report.setField(150, exec_type);
    report.setField(39, status);
    report.setField(55, order.getField(55));
    report.setField(54, order.getField(54));
    return report;
  }

  void report(const FIX::SessionID& session, const FIX::Message& order, const std::string& order_id,
              const std::string& id, const std::string& exec_type, const std::string& status,
              const std::string& quantity, const std::string& cumulative, const std::string& leaves,
              const std::string& price, const std::string& last) {
    FIX::Message report = base(order, order_id, id, exec_type, status);
    report.setField(38, quantity);
    report.setField(14, cumulative);
    report.setField(151, leaves);
    report.setField(6, price.empty() ? "0" : price);
    if (!last.empty()) {
      report.setField(32, last);
      report.setField(31, price);
    }
    FIX::Session::sendToTarget(report, session);
  }

  std::string market_;
  long orders_ = 0;
  long executions_ = 0;
};

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: venue <settings file> <market price>" << std::endl;
    return 2;
  }
  try {
    FIX::SessionSettings settings(argv[1]);
    Venue venue(argv[2]);
    FIX::FileStoreFactory store(settings);
    FIX::SocketAcceptor acceptor(venue, store, settings);
    acceptor.start();
    say("LISTENING");
    // Runs until its standard input closes (the test ends it) or it is killed.
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    acceptor.stop();
  } catch (std::exception& e) {
    std::cerr << "venue: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
