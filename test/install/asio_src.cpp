// The consumer's own compiled Asio (see asio_consumer.cpp).
#include <boost/asio/impl/src.hpp>
