@main struct Main { static func main() { print("not yet implemented") } }
