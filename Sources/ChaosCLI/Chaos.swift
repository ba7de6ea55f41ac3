import ChaosKit
@main struct Chaos { static func main() {} }
