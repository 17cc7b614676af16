// A QuickFIX C++ initiator that a test drives line by line: it logs on to Crossline's
// FIX port with QuickFIX's own session layer (its sequence numbers, resends, gap
// detection and heartbeats, its file store) and prints what it receives.
//
//   initiator <settings file> <password>
//
// Commands on stdin, one per line (fields separated by spaces):
//   D <ClOrdID> <Symbol> <Side> <OrderQty> <OrdType> <Price|-> <TimeInForce>
//   F <ClOrdID> <OrigClOrdID> <Symbol> <Side>
//   G <ClOrdID> <OrigClOrdID> <Symbol> <Side> <OrderQty> <Price>
//   H <ClOrdID> <Symbol> <Side>
//   TEST <TestReqID>          a TestRequest
//   STOP | START              log out and disconnect | connect and log on again
//   SEQ                       prints "SEQ <next sender> <next target>"
//   QUIT
// Output, one per line: LOGON, LOGOUT, APP <message>, ADMIN <message> (Heartbeat with a
// TestReqID, Reject, Logout, SequenceReset), OK <command>, ERROR <text>; messages with
// their SOHs as '|'.
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

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

class Client : public FIX::Application {
 public:
  explicit Client(std::string password) : password_(std::move(password)) {}
  FIX::SessionID session;

  void onCreate(const FIX::SessionID& id) override { session = id; }
  void onLogon(const FIX::SessionID&) override { say("LOGON"); }
  void onLogout(const FIX::SessionID&) override { say("LOGOUT"); }
  void toAdmin(FIX::Message& message, const FIX::SessionID&) override {
    if (message.getHeader().getField(35) == "A") message.setField(554, password_);
  }
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& message, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {
    const std::string type = message.getHeader().getField(35);
    if (type == "3" || type == "5" || type == "4" || (type == "0" && message.isSetField(112))) {
      say("ADMIN " + visible(message.toString()));
    }
  }
  void fromApp(const FIX::Message& message, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
    say("APP " + visible(message.toString()));
  }

 private:
  std::string password_;
};

static FIX::Message message(const std::string& type) {
  FIX::Message message;
  message.getHeader().setField(35, type);
  return message;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: initiator <settings file> <password>" << std::endl;
    return 2;
  }
  try {
    FIX::SessionSettings settings(argv[1]);
    Client client(argv[2]);
    FIX::FileStoreFactory store(settings);
    FIX::SocketInitiator initiator(client, store, settings);
    initiator.start();
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string word; words >> word;) w.push_back(word);
      if (w.empty()) continue;
      try {
        if (w[0] == "QUIT") break;
        if (w[0] == "STOP") {
          initiator.stop();
        } else if (w[0] == "START") {
          initiator.start();
        } else if (w[0] == "SEQ") {
          FIX::Session* session = FIX::Session::lookupSession(client.session);
          say("SEQ " + std::to_string(session->getExpectedSenderNum()) + " " +
              std::to_string(session->getExpectedTargetNum()));
          continue;
        } else {
          FIX::Message m;
          if (w[0] == "D" && w.size() == 8) {
            m = message("D");
            m.setField(11, w[1]);
            m.setField(55, w[2]);
            m.setField(54, w[3]);
            m.setField(38, w[4]);
            m.setField(40, w[5]);
            if (w[6] != "-") m.setField(44, w[6]);
            m.setField(59, w[7]);
            m.setField(60, FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 6));
          } else if (w[0] == "F" && w.size() == 5) {
            m = message("F");
            m.setField(11, w[1]);
            m.setField(41, w[2]);
            m.setField(55, w[3]);
            m.setField(54, w[4]);
            m.setField(60, FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 6));
          } else if (w[0] == "G" && w.size() == 7) {
            m = message("G");
            m.setField(11, w[1]);
            m.setField(41, w[2]);
            m.setField(55, w[3]);
            m.setField(54, w[4]);
            m.setField(38, w[5]);
            m.setField(40, "2");
            m.setField(44, w[6]);
            m.setField(60, FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 6));
          } else if (w[0] == "H" && w.size() == 4) {
            m = message("H");
            m.setField(11, w[1]);
            m.setField(55, w[2]);
            m.setField(54, w[3]);
          } else if (w[0] == "TEST" && w.size() == 2) {
            m = message("1");
            m.setField(112, w[1]);
          } else {
            say("ERROR unknown command: " + line);
            continue;
          }
          if (!FIX::Session::sendToTarget(m, client.session)) {
            say("ERROR not sent: " + line);
            continue;
          }
        }
        say("OK " + w[0]);
      } catch (std::exception& e) {
        say(std::string("ERROR ") + e.what());
      }
    }
    initiator.stop();
  } catch (std::exception& e) {
    std::cerr << "initiator: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
